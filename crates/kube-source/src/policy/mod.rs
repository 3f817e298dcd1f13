//! EventPolicy, the `kev.dev/v1alpha1` custom resource ([`EventPolicy`]), its
//! validation ([`EventPolicy::validate`]) and its CRD as YAML ([`crd_yaml`]).
//!
//! ```
//! use kev_kube_source::policy::{EventPolicy, EventPolicySpec, TargetKind};
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

mod crd;
mod validate;

pub use crd::{
    ConditionStatus, ContextGathering, EventPolicy, EventPolicySpec, EventPolicyStatus,
    EventSelector, EventType, PolicyCondition, PolicyMode, RateLimiting, RiskLevel, SecretKeyRef,
    Target, TargetKind,
};
pub use validate::{FieldError, InvalidPolicy};

/// The first lines of the rendered CRD: where it comes from and how to regenerate it.
const HEADER: &str = "\
# Generated from crates/kube-source/src/policy/crd.rs; do not edit.
# Regenerate: KEV_BLESS=1 cargo test -p kev-kube-source --test policy_crd
";

/// The EventPolicy CustomResourceDefinition as YAML, as committed in
/// `deploy/crds/eventpolicy.yaml`.
///
/// ```
/// let yaml = kev_kube_source::policy::crd_yaml();
/// assert!(yaml.contains("name: eventpolicies.kev.dev"));
/// ```
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    // A CRD is plain data with string keys, which YAML always represents.
    #[allow(clippy::expect_used)]
    let body = serde_norway::to_string(&EventPolicy::crd()).expect("a CRD serializes to YAML");
    format!("{HEADER}{body}")
}
