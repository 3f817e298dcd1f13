//! [`NatsSource`]: the central kev's durable pull consumer; a message is acked only
//! after the store committed the batch that holds it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::Subject;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, consumer::pull::Batch};
use async_trait::async_trait;
use futures::StreamExt;
use kev_core::metrics as m;
use kev_core::pipeline::Backoff;
use kev_core::{Checkpoint, CommitHook, Event, EventSource, RawEvent, SourceError, SourceItem};
use tokio::sync::mpsc;

use super::config::NatsSourceConfig;
use super::connection::{ConnectError, connect};
use super::stream::{StreamError, ensure_stream};

/// Pauses between attempts to reach NATS and set up the consumer at start.
const CONNECT_RETRY_INITIAL: Duration = Duration::from_millis(200);
const CONNECT_RETRY_MAX: Duration = Duration::from_secs(5);
/// Pauses after a failed fetch (a leadership change, a lost connection).
const FETCH_RETRY_INITIAL: Duration = Duration::from_millis(100);
const FETCH_RETRY_MAX: Duration = Duration::from_secs(2);

/// Messages handed to the pipeline and not acked yet: (stream sequence, reply subject),
/// in the order they were handed over.
type Unacked = Arc<Mutex<VecDeque<(u64, Subject)>>>;

/// Reads kev events from a JetStream durable pull consumer.
///
/// Each message becomes a [`RawEvent::Normalized`] event (it keeps its `cluster`); its
/// checkpoint position is the message's stream sequence. The consumer's state on the
/// server is the real resume point: a message is acked only when the pipeline reports
/// (through [`EventSource::commit_hook`]) that the batch holding it is committed, so a
/// crash redelivers what was not stored, and the store drops what was stored twice.
#[derive(Debug)]
pub struct NatsSource {
    config: NatsSourceConfig,
    id: String,
    unacked: Unacked,
    acks: mpsc::UnboundedSender<Vec<Subject>>,
    acks_rx: Option<mpsc::UnboundedReceiver<Vec<Subject>>>,
    running: Option<Running>,
}

struct Running {
    client: async_nats::Client,
    consumer: PullConsumer,
    batch: Option<Batch>,
    /// Messages the current request returned so far.
    received: usize,
    /// Wait for messages (the last request found none) instead of asking without waiting.
    wait: bool,
    /// Pause after a failed fetch; reset by the next message.
    backoff: Backoff,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

/// Why the consumer could not be set up: wrong settings end the run, an unreachable or
/// not yet created stream is waited for.
enum StartError {
    Fatal(String),
    Transient(String),
}

impl NatsSource {
    pub(super) fn new(config: NatsSourceConfig) -> Self {
        let (acks, acks_rx) = mpsc::unbounded_channel();
        Self {
            id: format!("nats:{}:{}", config.stream.name, config.consumer),
            config,
            unacked: Arc::default(),
            acks,
            acks_rx: Some(acks_rx),
            running: None,
        }
    }

    async fn connect(&self) -> Result<(async_nats::Client, PullConsumer), StartError> {
        let client = connect(&self.config.connection, "kev-central")
            .await
            .map_err(|e| match e {
                ConnectError::Credentials { .. } => StartError::Fatal(e.to_string()),
                _ => StartError::Transient(e.to_string()),
            })?;
        let js = jetstream::new(client.clone());
        ensure_stream(&js, &self.config.stream)
            .await
            .map_err(|e| match e {
                StreamError::Mismatch { .. } => StartError::Fatal(e.to_string()),
                _ => StartError::Transient(e.to_string()),
            })?;
        let stream = js.get_stream(&self.config.stream.name).await.map_err(|e| {
            StartError::Transient(format!("JetStream stream {}: {e}", self.config.stream.name))
        })?;
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &self.config.consumer,
                pull::Config {
                    durable_name: Some(self.config.consumer.clone()),
                    filter_subject: self.config.filter_subject.clone(),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    max_ack_pending: self.config.max_ack_pending,
                    ..pull::Config::default()
                },
            )
            .await
            .map_err(|e| {
                StartError::Transient(format!("JetStream consumer {}: {e}", self.config.consumer))
            })?;
        let found = &consumer.cached_info().config.filter_subject;
        if *found != self.config.filter_subject {
            return Err(StartError::Fatal(format!(
                "JetStream consumer {} exists with filter_subject {found:?}, the config says {:?}: use another consumer name",
                self.config.consumer, self.config.filter_subject
            )));
        }
        Ok((client, consumer))
    }

    /// Turns a message into a source item, or terminates a message that is not a kev
    /// event (it would be redelivered forever otherwise).
    async fn item(&self, running: &Running, msg: jetstream::Message) -> Option<SourceItem> {
        let seq = msg.info().ok().map(|i| i.stream_sequence);
        let (Some(seq), Some(reply)) = (seq, msg.reply.clone()) else {
            tracing::warn!(subject = %msg.subject, "skipping a NATS message without JetStream metadata");
            return None;
        };
        let event: Event = match serde_json::from_slice(&msg.payload) {
            Ok(event) => event,
            Err(e) => {
                metrics::counter!(m::SOURCE_ERRORS_TOTAL, "source" => "nats", "reason" => "decode")
                    .increment(1);
                tracing::warn!(subject = %msg.subject, seq, error = %e, "dropping a NATS message that is not a kev event");
                if let Err(e) = running.client.publish(reply, "+TERM".into()).await {
                    tracing::warn!(error = %e, "could not terminate the message; it will come again");
                }
                return None;
            }
        };
        self.unacked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back((seq, reply));
        Some(SourceItem::Event {
            raw: RawEvent::Normalized(Box::new(event)),
            location: format!("nats {} seq {seq}", msg.subject),
            checkpoint: Some(Checkpoint {
                source: self.id.clone(),
                position: seq.to_string(),
            }),
        })
    }
}

#[async_trait]
impl EventSource for NatsSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "nats"
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        if let Some(cp) = checkpoint {
            tracing::debug!(position = %cp.position, "the consumer's state on the server is the resume point; last stored stream sequence");
        }
        let mut backoff = Backoff::new(CONNECT_RETRY_INITIAL, CONNECT_RETRY_MAX);
        let (client, consumer) = loop {
            match self.connect().await {
                Ok(connected) => break connected,
                Err(StartError::Fatal(e)) => return Err(SourceError::Other(e)),
                Err(StartError::Transient(e)) => {
                    metrics::counter!(m::SOURCE_ERRORS_TOTAL, "source" => "nats", "reason" => "connect")
                        .increment(1);
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "NATS source not ready");
                    tokio::time::sleep(delay).await;
                }
            }
        };
        if let Some(rx) = self.acks_rx.take() {
            tokio::spawn(send_acks(client.clone(), rx));
        }
        self.running = Some(Running {
            client,
            consumer,
            batch: None,
            received: 0,
            wait: false,
            backoff: Backoff::new(FETCH_RETRY_INITIAL, FETCH_RETRY_MAX),
        });
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        loop {
            let Some(mut running) = self.running.take() else {
                return Some(Err(SourceError::Other(
                    "NATS source read before start".into(),
                )));
            };
            let item = step(&mut running, &self.config).await;
            let item = match item {
                Some(msg) => self.item(&running, msg).await,
                None => None,
            };
            self.running = Some(running);
            if let Some(item) = item {
                return Some(Ok(item));
            }
        }
    }

    fn commit_hook(&self) -> Option<CommitHook> {
        let unacked = Arc::clone(&self.unacked);
        let acks = self.acks.clone();
        Some(Box::new(move |checkpoint: &Checkpoint| {
            let Ok(seq) = checkpoint.position.parse::<u64>() else {
                return;
            };
            let mut unacked = unacked.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(end) = unacked.iter().position(|(s, _)| *s == seq) else {
                return;
            };
            let replies: Vec<Subject> = unacked.drain(..=end).map(|(_, r)| r).collect();
            // The receiver ends only with the runtime; then redelivery covers these.
            let _ = acks.send(replies);
        }))
    }
}

/// One step of the fetch loop: the next message of the current request, or a new
/// request. Failures (a leadership change answered with 409, a lost connection) are
/// logged and retried after a pause; they never end the source.
async fn step(running: &mut Running, config: &NatsSourceConfig) -> Option<jetstream::Message> {
    if let Some(batch) = running.batch.as_mut() {
        return match batch.next().await {
            Some(Ok(msg)) => {
                running.received += 1;
                running.backoff.reset();
                Some(msg)
            }
            Some(Err(e)) => {
                running.batch = None;
                pause(running, "fetch", &e.to_string()).await;
                None
            }
            None => {
                running.batch = None;
                running.wait = running.received == 0;
                None
            }
        };
    }
    running.received = 0;
    let request = if running.wait {
        running
            .consumer
            .batch()
            .max_messages(config.fetch_max_messages)
            .expires(config.fetch_expires)
            .messages()
            .await
    } else {
        running
            .consumer
            .fetch()
            .max_messages(config.fetch_max_messages)
            .expires(config.fetch_expires)
            .messages()
            .await
    };
    match request {
        Ok(batch) => running.batch = Some(batch),
        Err(e) => pause(running, "pull", &e.to_string()).await,
    }
    None
}

async fn pause(running: &mut Running, reason: &'static str, error: &str) {
    metrics::counter!(m::SOURCE_ERRORS_TOTAL, "source" => "nats", "reason" => reason).increment(1);
    let delay = running.backoff.next_delay();
    tracing::warn!(error, retry_in = ?delay, "NATS {reason} failed; retrying");
    tokio::time::sleep(delay).await;
    running.wait = false;
}

/// Acks, in order, the messages whose batches the store committed.
async fn send_acks(client: async_nats::Client, mut rx: mpsc::UnboundedReceiver<Vec<Subject>>) {
    while let Some(replies) = rx.recv().await {
        let count = replies.len() as u64;
        for reply in replies {
            if let Err(e) = client.publish(reply, bytes::Bytes::new()).await {
                tracing::warn!(error = %e, "NATS ack not sent; the message will be delivered again and deduplicated by the store");
            }
        }
        metrics::counter!(m::NATS_ACKED_TOTAL).increment(count);
    }
    if let Err(e) = client.flush().await {
        tracing::debug!(error = %e, "flushing the last NATS acks");
    }
}
