//! The backends compiled into this build, behind their Cargo features: the only module
//! of the daemon that names the `redb`, `sled`, `kube`, `webhook`, `mcp` and `nats`
//! features (besides `lib.rs`, which compiles the kube-only [`leader`](crate::leader)
//! and [`policy`](crate::policy) modules with `kube`). Everything else asks here: open
//! this store ([`store`]), this source ([`source`]), this sink or enricher ([`route`]),
//! lead or watch EventPolicies ([`cluster`]). The kev-sinks items the daemon uses are
//! named in [`sinks`] alone.

pub mod cluster;
pub mod route;
pub mod sinks;
pub mod source;
pub mod store;

/// Whether this build has the Kubernetes API (`kube` feature): the kube source,
/// enrichment from the cluster, EventPolicies and leader election.
pub const KUBE: bool = cfg!(feature = "kube");
