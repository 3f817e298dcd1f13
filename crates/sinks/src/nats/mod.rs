//! NATS JetStream fleet mode: [`NatsSink`] on every cluster's kev, [`NatsSource`] on
//! the central one.
//!
//! Agents publish each event to `kev.events.<cluster>.<namespace>` with
//! `Nats-Msg-Id` = its idempotency key and wait for the ack; the central kev pulls from a
//! durable consumer and acks only after its store committed the batch.

mod config;
mod connect;
mod sink;
mod source;
mod stream;
mod subject;

pub use config::{
    ConnectionConfig, NatsSinkConfig, NatsSourceConfig, NatsTlsConfig, Retention, StreamConfig,
};
pub use connect::{ConnectError, connect};
pub use sink::NatsSink;
pub use source::NatsSource;
pub use stream::{StreamError, ensure_stream};
pub use subject::SubjectTemplate;

#[cfg(test)]
mod tests;
