//! The [`Sink`] trait: deliver a batch, and say whether a failure is worth retrying.
//!
//! Batching, retries with backoff, dead letters and cursor commits are written once, in
//! the route runner ([`crate::pipeline`]); a sink only answers these two questions.

use std::time::Duration;

use async_trait::async_trait;

use crate::enrich::EnrichedEvent;
use crate::store::StoredEvent;

/// Why a delivery failed, and what the route runner should do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub message: String,
    /// Retry later (connect errors, timeouts, 429, 5xx); otherwise the failure is
    /// permanent and the events go to the dead-letter record.
    pub retryable: bool,
    /// The peer asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
    /// How many events at the start of the batch were acknowledged before the failure
    /// (a sink that sends one request per event); the route does not send them again.
    pub delivered: usize,
}

impl SinkError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            retry_after: None,
            delivered: 0,
        }
    }

    /// A failure that will not go away by retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            retry_after: None,
            delivered: 0,
        }
    }

    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The first `count` events of the batch were acknowledged before this failure.
    ///
    /// ```
    /// let e = kev_core::SinkError::retryable("503 Service Unavailable").with_delivered(3);
    /// assert_eq!(e.delivered, 3);
    /// ```
    #[must_use]
    pub fn with_delivered(mut self, count: usize) -> Self {
        self.delivered = count;
        self
    }
}

/// A destination for events.
///
/// `deliver` returns `Ok` only once the batch is acknowledged (written and flushed,
/// answered 2xx, acked by the server): the route's cursor moves on that `Ok`.
#[async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// Name for logs and the `sink` metric label (from a bounded set: the sink's type or
    /// its configured name).
    fn name(&self) -> &str;

    /// Delivers `batch`, in order.
    async fn deliver(&self, batch: &[StoredEvent]) -> Result<(), SinkError>;

    /// Delivers `batch` with the context a route's enricher gathered, in order. The
    /// route calls this instead of [`deliver`](Self::deliver) when it has an enricher;
    /// sinks that can carry the context (webhook, MCP) override it, the others deliver
    /// the events alone.
    async fn deliver_enriched(&self, batch: &[EnrichedEvent]) -> Result<(), SinkError> {
        let events: Vec<StoredEvent> = batch.iter().map(|e| e.stored.clone()).collect();
        self.deliver(&events).await
    }
}
