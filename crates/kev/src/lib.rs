//! kev: a framework for Kubernetes Events. Depend on this one crate and choose the
//! backends by Cargo feature, as with kube-rs's `kube`:
//!
//! ```toml
//! kev = { version = "0.1", default-features = false, features = ["redb", "kube", "webhook"] }
//! ```
//!
//! Everything of [`kev_core`] is here at the root — the event model ([`Event`]), the
//! traits ([`EventSource`], [`Normalizer`], [`Filter`], [`RateLimiter`], [`Store`],
//! [`Sink`], [`Enricher`]), the replay source, the memory store and the
//! [`pipeline`] — and each backend crate is a module behind its feature:
//!
//! | feature | module | crate |
//! |---|---|---|
//! | `redb` (default) | [`redb`] | kev-storage-redb |
//! | `sled` | `sled` | kev-storage-sled |
//! | `kube` | `kube_source` | kev-kube-source |
//! | `stdout`, `file`, `webhook`, `mcp`, `otlp`, `loki`, `elasticsearch`, `kafka`, `alertmanager`, `slack` | `sinks` | kev-sinks |
//! | `nats` | `nats` | kev-nats |
//! | `recorder` | `recorder` | kev-recorder |
//!
//! No CLI or server comes with it: the `kev` binary is the `kev-cli` package, and the
//! daemon's config and assembly are `kev-daemon`.
//!
//! ```
//! # #[cfg(feature = "redb")] {
//! let dir = tempfile::tempdir().unwrap();
//! let store = kev::redb::RedbStore::open(dir.path(), Default::default()).unwrap();
//! assert_eq!(kev::Store::last_seq(&store).unwrap(), 0);
//! # }
//! ```
//!
//! `examples/custom_pipeline.rs` builds a whole pipeline with its own sink.

pub use kev_core::*;

#[cfg(feature = "kube")]
pub use kev_kube_source as kube_source;
#[cfg(feature = "nats")]
pub use kev_nats as nats;
#[cfg(feature = "recorder")]
pub use kev_recorder as recorder;
#[cfg(any(
    feature = "stdout",
    feature = "file",
    feature = "webhook",
    feature = "mcp",
    feature = "otlp",
    feature = "loki",
    feature = "elasticsearch",
    feature = "kafka",
    feature = "alertmanager",
    feature = "slack"
))]
pub use kev_sinks as sinks;
#[cfg(feature = "redb")]
pub use kev_storage_redb as redb;
#[cfg(feature = "sled")]
pub use kev_storage_sled as sled;
