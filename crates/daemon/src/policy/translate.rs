//! [`route_config`]: a valid EventPolicy as the [`RouteConfig`] of a config-file route,
//! so that policies and config routes are built by the same
//! [`build_route`](crate::assemble::build_route).

use std::time::Duration;

use super::crd::{EventPolicy, EventPolicySpec, EventSelector, EventType};
use super::validate::{FieldError, InvalidPolicy};
use crate::backends::route::policy_sink;
use crate::config::{BatchConfig, RetryConfig, RouteConfig};
use kev_core::enrich::{EnrichConfig, LogsConfig, RelatedEventsConfig};
use kev_core::ratelimit::LimitKey;
use kev_core::remediation::{RemediationConfig, RemediationKey};
use kev_core::{RateLimitConfig, RuleConfig};

/// The route name of policy `namespace/name`: stable, so a changed policy keeps its
/// cursor and its remediation-gate records: `policy:team-a/crashloops`.
pub fn route_name(namespace: &str, name: &str) -> String {
    format!("policy:{namespace}/{name}")
}

/// The route `policy` declares, with `token` (read from its `secretRef`) for the target.
/// Fails on what [`EventPolicy::validate`] cannot see: selectors with different
/// occurrence thresholds, and targets this kev was built without.
pub fn route_config(
    policy: &EventPolicy,
    token: Option<&str>,
) -> Result<RouteConfig, InvalidPolicy> {
    let spec = &policy.spec;
    let name = route_name(
        policy.metadata.namespace.as_deref().unwrap_or_default(),
        policy.metadata.name.as_deref().unwrap_or_default(),
    );
    let mut errors = Vec::new();
    let remediation = gate(spec, &mut errors);
    let sink = policy_sink(spec, &name, token)
        .map_err(|feature| {
            errors.push(FieldError {
                path: "spec.target.kind".into(),
                message: format!(
                    "{:?} targets are not compiled into this kev; rebuild with the `{feature}` feature",
                    spec.target.kind
                ),
            });
        })
        .ok();
    if !errors.is_empty() {
        return Err(InvalidPolicy { errors });
    }
    // An empty selector matches every event, and so does an empty `match` list.
    let r#match = if spec.event_selectors.iter().any(|s| rule(s).is_none()) {
        Vec::new()
    } else {
        spec.event_selectors.iter().filter_map(rule).collect()
    };
    let rate = f64::from(spec.rate_limiting.events_per_minute);
    Ok(RouteConfig {
        name,
        r#match,
        drop: Vec::new(),
        rate_limit: Some(RateLimitConfig {
            key: LimitKey::ObjectReason,
            per_minute: rate,
            // A minute's worth may pass at once after a quiet spell.
            burst: spec.rate_limiting.events_per_minute.max(1),
            ..RateLimitConfig::default()
        }),
        batch: BatchConfig::default(),
        retry: RetryConfig::default(),
        remediation,
        enrich: enrich(spec),
        sinks: sink.into_iter().collect(),
    })
}

fn rule(selector: &EventSelector) -> Option<RuleConfig> {
    let rule = RuleConfig {
        r#type: selector.r#type.map(|t| match t {
            EventType::Normal => "Normal".into(),
            EventType::Warning => "Warning".into(),
        }),
        reason: selector.reason.clone().map(Into::into),
        kind: selector.involved_object_kind.clone().map(Into::into),
        namespace: selector.namespace.clone().map(Into::into),
        labels: (!selector.labels.is_empty()).then(|| selector.labels.clone()),
        message: selector.message.clone(),
        ..RuleConfig::default()
    };
    (rule != RuleConfig::default()).then_some(rule)
}

/// `minOccurrences` within `occurrenceWindowSeconds` and the durable `cooldownMinutes`
/// per object and reason: the route's remediation gate, one per route, so every
/// selector must agree on the threshold.
fn gate(spec: &EventPolicySpec, errors: &mut Vec<FieldError>) -> Option<RemediationConfig> {
    let first = spec.event_selectors.first()?;
    for (i, s) in spec.event_selectors.iter().enumerate().skip(1) {
        for (field, differs) in [
            ("minOccurrences", s.min_occurrences != first.min_occurrences),
            (
                "occurrenceWindowSeconds",
                s.occurrence_window_seconds != first.occurrence_window_seconds,
            ),
        ] {
            if differs {
                errors.push(FieldError {
                    path: format!("spec.eventSelectors[{i}].{field}"),
                    message: format!(
                        "differs from eventSelectors[0].{field}: kev counts occurrences once per policy, so all selectors must use the same value"
                    ),
                });
            }
        }
    }
    let cooldown = Duration::from_secs(u64::from(spec.rate_limiting.cooldown_minutes) * 60);
    (first.min_occurrences > 1 || !cooldown.is_zero()).then(|| RemediationConfig {
        min_occurrences: first.min_occurrences,
        window: Duration::from_secs(u64::from(first.occurrence_window_seconds)),
        cooldown,
        key: RemediationKey::Object,
    })
}

/// The context both target kinds send with each event (a webhook as the event's
/// `context` member, MCP as the `context` argument).
fn enrich(spec: &EventPolicySpec) -> Option<EnrichConfig> {
    let c = &spec.context_gathering;
    if !(c.include_logs || c.include_related_events || c.include_spec) {
        return None;
    }
    Some(EnrichConfig {
        logs: LogsConfig {
            enabled: c.include_logs,
            lines: c.log_lines,
            ..LogsConfig::default()
        },
        related_events: RelatedEventsConfig {
            enabled: c.include_related_events,
            lookback: Duration::from_secs(u64::from(c.lookback_minutes) * 60),
            ..RelatedEventsConfig::default()
        },
        spec: c.include_spec,
        ..EnrichConfig::default()
    })
}

#[cfg(all(test, feature = "webhook", feature = "mcp"))]
mod tests {
    use crate::backends::sinks::{McpProtocol, McpRiskLevel, RemediationMode, SinkConfig};

    use super::*;

    #[allow(clippy::unwrap_used)] // a test helper
    fn policy(yaml: &str) -> EventPolicy {
        let spec: EventPolicySpec = serde_norway::from_str(yaml).unwrap();
        let mut p = EventPolicy::new("crashloops", spec);
        p.metadata.namespace = Some("team-a".into());
        p
    }

    #[test]
    fn selectors_limits_and_webhook_target() {
        let p = policy(
            "eventSelectors:\n\
             - {type: Warning, reason: BackOff, involvedObjectKind: Pod, namespace: web, labels: {app: api}, message: 'back-off'}\n\
             - {reason: OOMKilling}\n\
             target: {kind: webhook, endpoint: 'http://hook.local/x'}\n\
             rateLimiting: {eventsPerMinute: 30, cooldownMinutes: 0}\n",
        );
        let c = route_config(&p, Some("t0ken")).unwrap();
        assert_eq!(c.name, "policy:team-a/crashloops");
        assert_eq!(c.r#match.len(), 2);
        assert_eq!(c.r#match[0].r#type.as_ref().unwrap().values(), ["Warning"]);
        assert_eq!(c.r#match[0].kind.as_ref().unwrap().values(), ["Pod"]);
        assert_eq!(c.r#match[0].message.as_deref(), Some("back-off"));
        assert_eq!(
            c.r#match[1].reason.as_ref().unwrap().values(),
            ["OOMKilling"]
        );
        let limit = c.rate_limit.unwrap();
        assert_eq!(
            (limit.per_minute, limit.burst, limit.key),
            (30.0, 30, LimitKey::ObjectReason)
        );
        assert!(
            c.remediation.is_none(),
            "no threshold and no cooldown: no gate"
        );
        let enrich = c.enrich.unwrap();
        assert!(
            enrich.related_events.enabled && !enrich.logs.enabled && !enrich.spec,
            "the default context: related events only"
        );
        assert!(matches!(&c.sinks[..], [SinkConfig::Webhook(w)] if w.url == "http://hook.local/x"));
        assert!(!format!("{:?}", c.sinks).contains("t0ken"));
    }

    #[test]
    fn an_empty_selector_matches_everything() {
        let p = policy(
            "eventSelectors: [{reason: X}, {}]\ntarget: {kind: webhook, endpoint: 'http://h/'}\n",
        );
        assert!(route_config(&p, None).unwrap().r#match.is_empty());
    }

    #[test]
    fn occurrences_and_cooldown_make_the_gate() {
        let p = policy(
            "eventSelectors: [{reason: BackOff, minOccurrences: 3, occurrenceWindowSeconds: 600}]\n\
             target: {kind: mcp, endpoint: 'http://dot-ai/mcp', tool: fix}\n\
             mode: automatic\nconfidenceThreshold: 0.95\nmaxRiskLevel: medium\n\
             contextGathering: {includeLogs: true, logLines: 20, lookbackMinutes: 30}\n\
             rateLimiting: {cooldownMinutes: 15}\n",
        );
        let c = route_config(&p, None).unwrap();
        let gate = c.remediation.unwrap();
        assert_eq!(gate.min_occurrences, 3);
        assert_eq!(gate.window, Duration::from_secs(600));
        assert_eq!(gate.cooldown, Duration::from_secs(900));
        assert_eq!(gate.key, RemediationKey::Object);
        let enrich = c.enrich.unwrap();
        assert!(enrich.logs.enabled && !enrich.spec);
        assert_eq!(enrich.logs.lines, 20);
        assert_eq!(enrich.related_events.lookback, Duration::from_secs(1800));
        let [SinkConfig::Mcp(m)] = &c.sinks[..] else {
            panic!("{:?}", c.sinks)
        };
        assert_eq!(m.protocol, McpProtocol::Mcp);
        assert_eq!(m.tool, "fix");
        assert_eq!(m.mode, RemediationMode::Automatic);
        assert_eq!(m.confidence_threshold, 0.95);
        assert_eq!(m.max_risk_level, McpRiskLevel::Medium);
        assert_eq!(m.policy.as_deref(), Some("policy:team-a/crashloops"));
        let rest = policy(
            "eventSelectors: [{}]\ntarget: {kind: mcp-rest, endpoint: 'http://dot-ai/api/v1/tools/remediate'}\n",
        );
        let c = route_config(&rest, None).unwrap();
        assert!(matches!(&c.sinks[..], [SinkConfig::Mcp(m)] if m.protocol == McpProtocol::Rest));
    }

    #[test]
    fn selectors_must_agree_on_the_threshold() {
        let p = policy(
            "eventSelectors: [{minOccurrences: 2}, {minOccurrences: 3, occurrenceWindowSeconds: 60}]\n\
             target: {kind: webhook, endpoint: 'http://h/'}\n",
        );
        let paths: Vec<String> = route_config(&p, None)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "spec.eventSelectors[1].minOccurrences",
                "spec.eventSelectors[1].occurrenceWindowSeconds"
            ]
        );
    }
}
