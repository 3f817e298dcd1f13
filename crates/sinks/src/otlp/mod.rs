//! The OTLP sink ([`OtlpSink`]): each event one OTLP log record, sent over HTTP with
//! protobuf bodies (`POST /v1/logs`) to an OpenTelemetry collector or any OTLP backend
//! (Splunk, Elastic, Dash0, SigNoz). Messages are the official definitions
//! (`opentelemetry-proto`); attribute names are those of the collector's
//! `k8seventsreceiver`, so dashboards built on it keep working.

mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use config::OtlpSinkConfig;
pub use encoder::export_request;
pub use sink::OtlpSink;
