//! The [`Sink`] trait: deliver a batch, and say whether a failure is worth retrying.
//!
//! Batching, retries with backoff, dead letters and cursor commits are written once, in
//! the route runner ([`crate::pipeline`]); a sink only answers these two questions.

use std::time::Duration;

use async_trait::async_trait;

use crate::enrich::EventContext;
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

/// The events a route hands to a sink in one delivery, in log order, and for a route
/// with an enricher the context gathered for each, side by side (nothing is cloned).
///
/// ```
/// use kev_core::enrich::EventContext;
/// use kev_core::{Batch, StoredEvent};
/// let events = vec![StoredEvent { seq: 1, event: Default::default() }];
/// let plain = Batch::new(&events);
/// assert!(plain.contexts().is_none());
/// let contexts = vec![EventContext::default()];
/// let enriched = Batch::enriched(&events, &contexts);
/// assert_eq!(enriched.len(), 1);
/// assert!(enriched.iter().all(|(_, context)| context.is_some()));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    events: &'a [StoredEvent],
    /// Same length as `events` when present.
    contexts: Option<&'a [EventContext]>,
}

impl<'a> Batch<'a> {
    /// Events without context.
    pub fn new(events: &'a [StoredEvent]) -> Self {
        Self {
            events,
            contexts: None,
        }
    }

    /// Events with their contexts, `contexts[i]` that of `events[i]`; the longer of the
    /// two is cut to the length of the other.
    pub fn enriched(events: &'a [StoredEvent], contexts: &'a [EventContext]) -> Self {
        let n = events.len().min(contexts.len());
        Self {
            events: &events[..n],
            contexts: Some(&contexts[..n]),
        }
    }

    pub fn events(&self) -> &'a [StoredEvent] {
        self.events
    }

    /// The contexts, when the route has an enricher.
    pub fn contexts(&self) -> Option<&'a [EventContext]> {
        self.contexts
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Each event with its context (`None` without an enricher).
    pub fn iter(
        &self,
    ) -> impl ExactSizeIterator<Item = (&'a StoredEvent, Option<&'a EventContext>)> {
        let contexts = self.contexts;
        self.events
            .iter()
            .enumerate()
            .map(move |(i, e)| (e, contexts.map(|c| &c[i])))
    }

    /// The batch without its first `n` events.
    pub fn skip(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            events: &self.events[n..],
            contexts: self.contexts.map(|c| &c[n..]),
        }
    }

    /// The one event at `i` as a batch (empty when out of range).
    pub fn one(&self, i: usize) -> Self {
        let i = i.min(self.len());
        let end = (i + 1).min(self.len());
        Self {
            events: &self.events[i..end],
            contexts: self.contexts.map(|c| &c[i..end]),
        }
    }
}

impl<'a> From<&'a [StoredEvent]> for Batch<'a> {
    fn from(events: &'a [StoredEvent]) -> Self {
        Self::new(events)
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

    /// Delivers `batch`, in order. Sinks that can carry the context a route's enricher
    /// gathered (webhook, MCP) read it from [`Batch::contexts`]; the others deliver the
    /// events alone.
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError>;
}
