//! The parts of a route that depend on the build: the enricher (pod logs and specs need
//! the cluster) and the sink an EventPolicy's target names.

use std::sync::Arc;

use kev_core::enrich::{EnrichConfig, Enrichers, RelatedEventsEnricher};
use kev_core::{Enricher, Store};

use super::source::KubeClient;

/// The enricher of a route with `enrich:`: related events from `store`, and with a kube
/// client the pod logs and the object's spec.
#[cfg_attr(not(feature = "kube"), allow(unused_variables))]
pub fn enricher(
    config: &EnrichConfig,
    store: &Arc<dyn Store>,
    kube: Option<&KubeClient>,
) -> Arc<dyn Enricher> {
    #[cfg_attr(not(feature = "kube"), allow(unused_mut))] // pushed to with `kube` only
    let mut parts: Vec<Arc<dyn Enricher>> = vec![Arc::new(RelatedEventsEnricher::new(
        Arc::clone(store),
        config.related_events.clone(),
    ))];
    #[cfg(feature = "kube")]
    if let Some(client) = kube {
        parts.push(Arc::new(kev_kube_source::enrich::KubeEnricher::new(
            client.clone(),
            config.clone(),
        )));
    }
    Arc::new(Enrichers(parts))
}

/// The sink of an EventPolicy's `target`, with `token` from its `secretRef`; `Err`
/// names the feature a target kind this build lacks needs.
#[cfg(feature = "kube")]
#[cfg_attr(
    not(all(feature = "webhook", feature = "mcp")),
    allow(unused_variables)
)]
pub fn policy_sink(
    spec: &crate::policy::EventPolicySpec,
    route: &str,
    token: Option<&str>,
) -> Result<super::sinks::SinkConfig, &'static str> {
    use crate::policy::TargetKind;
    let target = &spec.target;
    match target.kind {
        #[cfg(feature = "webhook")]
        TargetKind::Webhook => {
            let mut c = super::sinks::WebhookSinkConfig::new(&target.endpoint);
            if let Some(token) = token {
                c = c.bearer_token(token);
            }
            Ok(super::sinks::SinkConfig::Webhook(Box::new(c)))
        }
        #[cfg(feature = "mcp")]
        TargetKind::Mcp | TargetKind::McpRest => {
            use super::sinks::{McpProtocol, McpRiskLevel, McpSinkConfig, RemediationMode};
            use crate::policy::{PolicyMode, RiskLevel};
            let mut c = McpSinkConfig::new(&target.endpoint);
            c.protocol = if target.kind == TargetKind::Mcp {
                McpProtocol::Mcp
            } else {
                McpProtocol::Rest
            };
            if let Some(tool) = &target.tool {
                c.tool.clone_from(tool);
            }
            c.policy = Some(route.to_owned());
            c.mode = match spec.mode {
                PolicyMode::Manual => RemediationMode::Manual,
                PolicyMode::Automatic => RemediationMode::Automatic,
            };
            c.confidence_threshold = spec.confidence_threshold;
            c.max_risk_level = match spec.max_risk_level {
                RiskLevel::Low => McpRiskLevel::Low,
                RiskLevel::Medium => McpRiskLevel::Medium,
                RiskLevel::High => McpRiskLevel::High,
            };
            if let Some(token) = token {
                c = c.bearer_token(token);
            }
            Ok(super::sinks::SinkConfig::Mcp(Box::new(c)))
        }
        #[allow(unreachable_patterns)]
        other => Err(if other == TargetKind::Webhook {
            "webhook"
        } else {
            "mcp"
        }),
    }
}
