//! kev-sinks: where a route delivers events — stdout, file, webhook, MCP, OTLP, Loki,
//! Elasticsearch/OpenSearch, Kafka, Alertmanager, Slack, Teams — each
//! behind its own Cargo feature, the HTTP ones on one shared [`http`] module (client with
//! TLS and timeouts, status classification with `Retry-After`, credentials, URL checks),
//! the payloads they render on one template engine ([`template`]).
//!
//! Every sink implements [`kev_core::Sink`]: it delivers a batch and says whether a
//! failure is retryable. Batching, retries, dead letters and cursor commits live once,
//! in kev-core's route runner (`docs/specs/delivery.md`). Each sink has a config struct
//! (serde, `deny_unknown_fields`) with a pure `validate()` and a `build()`; the
//! `type:`-tagged union of every backend's config is the daemon's, which knows them all.
//!
//! ```
//! use kev_core::Sink;
//! use kev_sinks::stdout::StdoutSinkConfig;
//! let config: StdoutSinkConfig = serde_norway::from_str("format: text\nname: console\n").unwrap();
//! config.validate().unwrap();
//! assert_eq!(config.build().unwrap().name(), "console");
//! ```

#[cfg(any(feature = "stdout", feature = "file"))]
mod jsonl;

#[cfg(feature = "alertmanager")]
pub mod alertmanager;
#[cfg(any(feature = "slack", feature = "teams"))]
mod chat;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(any(feature = "webhook", feature = "file", feature = "kafka"))]
pub mod kee;
#[cfg(any(feature = "loki", feature = "alertmanager"))]
mod label_name;
#[cfg(feature = "loki")]
pub mod loki;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "slack")]
pub mod slack;
#[cfg(feature = "stdout")]
pub mod stdout;
#[cfg(feature = "template")]
pub mod template;
#[cfg(any(feature = "alertmanager", feature = "slack", feature = "teams"))]
pub mod ui_link;
#[cfg(feature = "webhook")]
pub mod webhook;

/// The recording HTTP receiver of the HTTP sinks' tests (the integration tests and
/// benches include the same file).
#[cfg(all(test, feature = "http"))]
#[path = "../tests/support/receiver.rs"]
mod test_receiver;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "webhook"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
