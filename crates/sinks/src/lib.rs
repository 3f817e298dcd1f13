//! kev-sinks: where a route delivers events — stdout, file, webhook, NATS — each behind its
//! own Cargo feature.
//!
//! Every sink implements [`kev_core::Sink`]: it delivers a batch and says whether a
//! failure is retryable. Batching, retries, dead letters and cursor commits live once,
//! in kev-core's route runner (`docs/specs/delivery.md`). Each sink has a config struct
//! (serde, `deny_unknown_fields`) with a pure `validate()` and a `build()`;
//! [`SinkConfig`] is the `type:`-tagged union the route config uses.
//!
//! ```
//! let yaml = "type: stdout\nformat: text\n";
//! let config: kev_sinks::SinkConfig = serde_norway::from_str(yaml).unwrap();
//! config.validate().unwrap();
//! ```

#[cfg(any(
    feature = "stdout",
    feature = "file",
    feature = "webhook",
    feature = "nats"
))]
mod config;
#[cfg(any(feature = "stdout", feature = "file"))]
mod jsonl;

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "kube")]
pub mod recorder;
#[cfg(feature = "stdout")]
pub mod stdout;
#[cfg(feature = "webhook")]
pub mod webhook;

#[cfg(any(
    feature = "stdout",
    feature = "file",
    feature = "webhook",
    feature = "nats"
))]
pub use config::SinkConfig;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "kube"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
