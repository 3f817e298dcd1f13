//! kev-nats: fleet mode on NATS JetStream — [`NatsSink`] on every cluster's kev,
//! [`NatsSource`] on the central one, both reaching NATS through one
//! [`ConnectionConfig`] (servers, credentials, TLS) and [`connect`].
//!
//! Agents publish each event to `kev.events.<cluster>.<namespace>` with
//! `Nats-Msg-Id` = its idempotency key and wait for the ack; a publish without an ack is
//! a retryable [`SinkError`](kev_core::SinkError), which kev-core's route runner retries
//! with jittered backoff. The central kev pulls from a durable consumer and acks only
//! after its store committed the batch.
//!
//! ```
//! use kev_nats::{NatsSinkConfig, NatsSourceConfig};
//! let sink: NatsSinkConfig = serde_norway::from_str(
//!     "connection: {servers: [nats://nats.fleet:4222], creds_file: /etc/kev/nats.creds}\nname: fleet\n",
//! ).unwrap();
//! // It connects on its first batch, so a route starts even while NATS is away.
//! assert_eq!(kev_core::Sink::name(&sink.build().unwrap()), "fleet");
//! let source: NatsSourceConfig =
//!     serde_norway::from_str("connection: {servers: [nats://nats.fleet:4222]}\n").unwrap();
//! assert_eq!(kev_core::EventSource::id(&source.build().unwrap()), "nats:KEV_EVENTS:kev-central");
//! ```

mod config;
mod connection;
mod sink;
mod source;
mod stream;
mod subject;

pub use config::{NatsSinkConfig, NatsSourceConfig};
pub use connection::{ConnectError, ConnectionConfig, NatsTlsConfig, connect};
pub use sink::NatsSink;
pub use source::NatsSource;
pub use stream::{Retention, StreamConfig, StreamError, ensure_stream};
pub use subject::SubjectTemplate;

#[cfg(test)]
mod tests;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
