//! `kev run --policies crd`: [`run`] watches EventPolicy objects and keeps one live
//! route per valid, enabled policy, with the policy's status kept up to date.
//!
//! - A policy becomes a [`RouteConfig`](crate::config::RouteConfig)
//!   ([`translate::route_config`]) built by the same `assemble::build_route` as the
//!   config file's routes, named `policy:<namespace>/<name>`: a changed policy replaces
//!   its route through [`RouteControl`](kev_core::pipeline::RouteControl) and goes on
//!   from the route's stored cursor, so nothing already delivered is sent again.
//! - Only a new `metadata.generation` (a spec change) rebuilds the route; kev's own
//!   status writes come back through the watch and are ignored. So does a change of the
//!   Secret a policy names, which kev reads again every `policies.secret_refresh`.
//! - An invalid policy gets `Ready=False` (reason `InvalidPolicy`, the message naming the
//!   field) and a Warning event `InvalidPolicy` through kev's recorder; its old route,
//!   if any, stops. `enabled: false` or a deletion stops the route; its cursor stays.
//! - Status ([`status`]): counters from the route's
//!   [`RouteStats`](kev_core::pipeline::RouteStats), added to what the status held when
//!   kev first saw the policy (so a restart does not reset them), written with a merge
//!   PATCH of `/status` at most every `policies.status_interval` and only when changed.

mod controller;
mod status;
mod translate;

pub use controller::{PolicySettings, run};
