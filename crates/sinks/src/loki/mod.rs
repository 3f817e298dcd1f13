//! The Loki sink ([`LokiSink`]): events pushed to Loki's push API
//! (`POST /loki/api/v1/push`), protobuf + snappy (default) or JSON, into streams with a
//! bounded label set; the rest of the event goes into the line and into structured
//! metadata.

mod config;
mod encoder;
mod proto;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use config::{LokiEncoding, LokiLabel, LokiSinkConfig, MAX_LABELS};
pub use proto::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp};
pub use sink::LokiSink;
