//! EventPolicy, the `kev.dev/v1alpha1` custom resource ([`EventPolicy`]), its
//! validation ([`EventPolicy::validate`]), its CRD as YAML ([`crd_yaml`]), and the
//! controller of `kev run --policies crd` ([`run`]).
//!
//! ```
//! use kev_daemon::policy::{EventPolicy, EventPolicySpec, TargetKind};
//! use kube::Resource;
//!
//! let yaml = r#"
//! eventSelectors: [{type: Warning, reason: BackOff}]
//! target: {kind: webhook, endpoint: "http://hook.kev.svc/events"}
//! "#;
//! let spec: EventPolicySpec = serde_norway::from_str(yaml).unwrap();
//! assert!(spec.enabled);
//! assert_eq!(spec.target.kind, TargetKind::Webhook);
//! let policy = EventPolicy::new("crashloops", spec);
//! assert_eq!(EventPolicy::kind(&()), "EventPolicy");
//! assert!(policy.validate().is_ok());
//! ```

//!
//! The controller keeps one live route per valid, enabled policy, with the policy's
//! status kept up to date:
//!
//! - A policy becomes a [`RouteConfig`](crate::config::RouteConfig)
//!   ([`translate::route_config`]) built by the same [`crate::assemble::build_route`]
//!   as the config file's routes, named `policy:<namespace>/<name>`: a changed policy
//!   replaces its route through [`RouteControl`](kev_core::pipeline::RouteControl) and
//!   goes on from the route's stored cursor, so nothing already delivered is sent again.
//! - Only a new `metadata.generation` (a spec change) rebuilds the route; kev's own
//!   status writes come back through the watch and are ignored. So does a change of the
//!   Secret a policy names, which kev reads again every `policies.secret_refresh`.
//! - An invalid policy gets `Ready=False` (reason `InvalidPolicy`, the message naming the
//!   field) and a Warning event `InvalidPolicy` through kev's recorder; its old route,
//!   if any, stops. `enabled: false` or a deletion stops the route; its cursor stays.
//! - Status (`status.rs`): counters from the route's
//!   [`RouteStats`](kev_core::pipeline::RouteStats), added to what the status held when
//!   kev first saw the policy (so a restart does not reset them), written with a merge
//!   PATCH of `/status` at most every `policies.status_interval` and only when changed.

mod controller;
mod crd;
mod status;
pub mod translate;
mod validate;

pub use controller::{PolicySettings, run};

pub use crd::{
    ConditionStatus, ContextGathering, EventPolicy, EventPolicySpec, EventPolicyStatus,
    EventSelector, EventType, PolicyCondition, PolicyMode, RateLimiting, RiskLevel, SecretKeyRef,
    Target, TargetKind,
};
pub use validate::{FieldError, InvalidPolicy};

/// The first lines of the rendered CRD: where it comes from and how to regenerate it.
const HEADER: &str = "\
# Generated from crates/daemon/src/policy/crd.rs; do not edit.
# Regenerate: KEV_BLESS=1 cargo test -p kev-daemon --test policy_crd
";

/// The EventPolicy CustomResourceDefinition as YAML, as committed in
/// `deploy/crds/eventpolicy.yaml`.
///
/// ```
/// let yaml = kev_daemon::policy::crd_yaml();
/// assert!(yaml.contains("name: eventpolicies.kev.dev"));
/// ```
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    // A CRD is plain data with string keys, which YAML always represents.
    #[allow(clippy::expect_used)]
    let body = serde_norway::to_string(&EventPolicy::crd()).expect("a CRD serializes to YAML");
    format!("{HEADER}{body}")
}
