//! kev-kube-source: what reads the cluster. [`KubeSource`], the watch of core/v1 and
//! events.k8s.io/v1 Events that resumes from its checkpoint, relists on 410, reconnects
//! forever with backoff, restarts stalled watches, and reports readiness through
//! [`SourceHealth`]; the enrichment reads of a route ([`enrich`]: pod logs, owners, the
//! object's spec); the owner chains of involved objects ([`owners`], read from their
//! `ownerReferences` in the background); the client builder ([`build_client`]) with its API [`Throttle`].
//!
//! Leader election and the EventPolicy CRD are the daemon's (`kev-daemon`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), kev_kube_source::KubeSourceError> {
//! use kev_kube_source::{KubeSource, KubeSourceConfig, build_client};
//!
//! let config = KubeSourceConfig::default(); // core/v1 Events of every namespace
//! let client = build_client(&config).await?; // in-cluster, else the kubeconfig
//! let source = KubeSource::with_client(client, config)?;
//! let health = source.health(); // `is_ready()` for /readyz
//! # let _ = (source, health);
//! # Ok(())
//! # }
//! ```
//!
//! See the crate README for why it runs its own list+watch loop on `Api::list` and
//! `Api::watch` instead of kube-runtime's `watcher`.

pub mod checkpoint;
mod client;
mod config;
mod convert;
pub mod enrich;
mod error;
mod health;
pub mod owners;
mod source;
mod throttle;
mod watch_loop;

pub use client::{build_client, client_from};
pub use config::{Api, ApiChoice, KubeSourceConfig};
pub use convert::{kube_event_from_core, kube_event_from_events};
pub use error::KubeSourceError;
pub use health::{SourceHealth, WatchStats};
pub use source::{KubeSource, SOURCE_ID};
pub use throttle::{Throttle, ThrottleLayer};
