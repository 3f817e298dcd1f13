//! The Kafka sink ([`KafkaSink`]): each event one record, produced with the pure-Rust
//! rskafka client (no librdkafka) with `acks=all`; the key is the involved object's uid,
//! so one object's events stay in one partition, in order.

mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

pub use config::{KafkaCompression, KafkaSinkConfig, SaslConfig, SaslMechanism};
pub use encoder::{murmur2, partition_for};
pub use sink::KafkaSink;
