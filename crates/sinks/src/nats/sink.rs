//! [`NatsSink`]: publishes each event to JetStream with `Nats-Msg-Id` = its idempotency
//! key and returns only once every publish is acked.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use kev_core::config::ConfigError;
use kev_core::metrics as m;
use kev_core::{Batch, Sink, SinkError, StoredEvent};
use tokio::sync::OnceCell;

use super::config::NatsSinkConfig;
use super::subject::SubjectTemplate;

/// The NATS JetStream sink. It connects (and creates or checks the stream) on its first
/// batch, so a route starts even while NATS is away; the route retries meanwhile.
///
/// Repeats are safe: JetStream drops a message whose `Nats-Msg-Id` it saw within the
/// stream's duplicate window, and the central store drops a repeated idempotency key.
#[derive(Debug)]
pub struct NatsSink {
    config: NatsSinkConfig,
    subject: SubjectTemplate,
    name: String,
    js: OnceCell<jetstream::Context>,
}

/// One event ready to publish.
struct Outgoing {
    subject: String,
    id: String,
    payload: Bytes,
}

impl NatsSink {
    pub(super) fn new(config: NatsSinkConfig) -> Result<Self, ConfigError> {
        let subject =
            SubjectTemplate::parse(&config.subject).map_err(|e| ConfigError::new("subject", e))?;
        let name = config.name.clone().unwrap_or_else(|| "nats".into());
        Ok(Self {
            config,
            subject,
            name,
            js: OnceCell::new(),
        })
    }

    /// The JetStream context, connecting and ensuring the stream the first time.
    async fn context(&self) -> Result<&jetstream::Context, SinkError> {
        self.js
            .get_or_try_init(|| async {
                let client = super::connect(&self.config.connection, "kev-agent")
                    .await
                    .map_err(|e| SinkError::retryable(e.to_string()))?;
                let mut js = jetstream::new(client);
                js.set_timeout(self.config.ack_timeout);
                // Even a settings mismatch is retryable: the events wait in the store
                // (and the error in the log) until the stream or the config is fixed,
                // rather than going to the dead-letter record.
                super::ensure_stream(&js, &self.config.stream)
                    .await
                    .map_err(|e| SinkError::retryable(e.to_string()))?;
                Ok(js)
            })
            .await
    }

    fn encode(&self, batch: &[StoredEvent]) -> Result<Vec<Outgoing>, SinkError> {
        batch
            .iter()
            .map(|stored| {
                let payload = serde_json::to_vec(&stored.event).map_err(|e| {
                    SinkError::permanent(format!("encoding event seq {}: {e}", stored.seq))
                })?;
                Ok(Outgoing {
                    subject: self.subject.render(&stored.event),
                    id: stored.event.idempotency_key().as_str().to_owned(),
                    payload: payload.into(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl Sink for NatsSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        let js = self.context().await?;
        let outgoing = self.encode(batch)?;
        let deadline = tokio::time::Instant::now() + self.config.retry_budget;
        // Indices of events not acked yet, in batch order.
        let mut pending: Vec<usize> = (0..outgoing.len()).collect();
        let mut backoff = Duration::from_millis(100);
        loop {
            let failure = publish_all(js, &outgoing, &mut pending).await;
            let Some(failure) = failure else {
                return Ok(());
            };
            let delivered = pending.first().copied().unwrap_or(outgoing.len());
            if !failure.retryable || tokio::time::Instant::now() + backoff > deadline {
                return Err(failure.with_delivered(delivered));
            }
            metrics::counter!(m::NATS_PUBLISH_RETRIES_TOTAL).increment(1);
            tracing::debug!(sink = %self.name, error = %failure, pending = pending.len(), "retrying unacked NATS publishes with the same message ids");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// Publishes every pending event, then awaits their acks; keeps in `pending` those not
/// acked and returns the first failure.
async fn publish_all(
    js: &jetstream::Context,
    outgoing: &[Outgoing],
    pending: &mut Vec<usize>,
) -> Option<SinkError> {
    let mut acks = Vec::with_capacity(pending.len());
    let mut failure = None;
    for &i in pending.iter() {
        let out = &outgoing[i];
        let publish = jetstream::message::PublishMessage::build()
            .message_id(&out.id)
            .payload(out.payload.clone());
        match js.send_publish(out.subject.clone(), publish).await {
            Ok(ack) => acks.push((i, Some(ack))),
            Err(e) => {
                failure.get_or_insert(classify(e.kind(), &e));
                acks.push((i, None));
            }
        }
    }
    let mut still = Vec::new();
    let results = futures::future::join_all(acks.into_iter().map(|(i, ack)| async move {
        match ack {
            Some(ack) => (i, ack.await.map(|_| ()).map_err(|e| classify(e.kind(), &e))),
            None => (i, Err(SinkError::retryable("not sent"))),
        }
    }))
    .await;
    for (i, result) in results {
        if let Err(e) = result {
            if failure.is_none() || e.message != "not sent" {
                failure.get_or_insert(e);
            }
            still.push(i);
        }
    }
    *pending = still;
    failure
}

/// Everything that a stream leader change, a restart or a reconnect causes is
/// retryable; a message the server can never take is not.
fn classify(kind: PublishErrorKind, error: &dyn std::fmt::Display) -> SinkError {
    let message = format!("NATS publish: {error}");
    match kind {
        PublishErrorKind::MaxPayloadExceeded => SinkError::permanent(message),
        _ => SinkError::retryable(message),
    }
}
