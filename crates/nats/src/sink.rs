//! [`NatsSink`]: publishes each event to JetStream with `Nats-Msg-Id` = its idempotency
//! key and returns only once every publish is acked.

use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::jetstream;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use kev_core::config::ConfigError;
use kev_core::metrics as m;
use kev_core::{Batch, Sink, SinkError, StoredEvent};
use tokio::sync::OnceCell;

use super::config::NatsSinkConfig;
use super::connection::connect;
use super::stream::ensure_stream;
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
    /// The last round left events unacked: the next one repeats their message ids.
    unacked: AtomicBool,
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
            unacked: AtomicBool::new(false),
        })
    }

    /// The JetStream context, connecting and ensuring the stream the first time.
    async fn context(&self) -> Result<&jetstream::Context, SinkError> {
        self.js
            .get_or_try_init(|| async {
                let client = connect(&self.config.connection, "kev-agent")
                    .await
                    .map_err(|e| SinkError::retryable(e.to_string()))?;
                let mut js = jetstream::new(client);
                js.set_timeout(self.config.ack_timeout);
                // Even a settings mismatch is retryable: the events wait in the store
                // (and the error in the log) until the stream or the config is fixed,
                // rather than going to the dead-letter record.
                ensure_stream(&js, &self.config.stream)
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

    /// One round: every event published, then every ack awaited. A missing ack is a
    /// retryable error reporting the events acked before the first unacked one; the
    /// route sends the rest again with the same message ids, and JetStream drops what
    /// it already has.
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        let js = self.context().await?;
        let outgoing = self.encode(batch)?;
        if self.unacked.swap(false, Ordering::Relaxed) {
            metrics::counter!(m::NATS_PUBLISH_RETRIES_TOTAL).increment(1);
        }
        let Some((delivered, failure)) = publish_all(js, &outgoing).await else {
            return Ok(());
        };
        if failure.retryable {
            self.unacked.store(true, Ordering::Relaxed);
        }
        Err(failure.with_delivered(delivered))
    }
}

/// Publishes every event, then awaits their acks; returns the index of the first
/// event not acked, with its error.
async fn publish_all(js: &jetstream::Context, outgoing: &[Outgoing]) -> Option<(usize, SinkError)> {
    let mut acks = Vec::with_capacity(outgoing.len());
    for out in outgoing {
        let publish = jetstream::message::PublishMessage::build()
            .message_id(&out.id)
            .payload(out.payload.clone());
        acks.push(js.send_publish(out.subject.clone(), publish).await);
    }
    let results = futures::future::join_all(acks.into_iter().map(|sent| async move {
        match sent {
            Ok(ack) => ack.await.map(|_| ()),
            Err(e) => Err(e),
        }
    }))
    .await;
    results
        .into_iter()
        .enumerate()
        .find_map(|(i, result)| result.err().map(|e| (i, classify(&e))))
}

/// Everything that a stream leader change, a restart or a reconnect causes is
/// retryable; a message the server can never take is not.
fn classify(error: &PublishError) -> SinkError {
    let message = format!("NATS publish: {error}");
    match error.kind() {
        PublishErrorKind::MaxPayloadExceeded => SinkError::permanent(message),
        PublishErrorKind::StreamNotFound
        | PublishErrorKind::WrongLastMessageId
        | PublishErrorKind::WrongLastSequence
        | PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending
        | PublishErrorKind::Other => SinkError::retryable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_message_the_server_can_never_take_is_permanent() {
        let permanent = classify(&PublishError::new(PublishErrorKind::MaxPayloadExceeded));
        assert!(!permanent.retryable, "{permanent}");
        for kind in [
            PublishErrorKind::TimedOut,
            PublishErrorKind::StreamNotFound,
            PublishErrorKind::BrokenPipe,
            PublishErrorKind::MaxAckPending,
            PublishErrorKind::Other,
        ] {
            let error = classify(&PublishError::new(kind));
            assert!(error.retryable, "{kind:?}: {error}");
            assert!(error.message.starts_with("NATS publish: "), "{error}");
        }
    }
}
