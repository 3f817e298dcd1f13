//! The remediation request: the `issue` sentence and the tool's arguments, the same for
//! the REST gateway (as the JSON body) and the MCP tool (as `arguments`).

use kev_core::Event;
use kev_core::enrich::EventContext;
use serde_json::{Map, Value, json};

use super::config::{RemediationMode, RiskLevel};

/// What the arguments carry besides the event.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadOptions {
    pub mode: RemediationMode,
    pub confidence_threshold: f64,
    pub max_risk_level: RiskLevel,
    /// `Some(policy)`: send `context` and `policy`.
    pub context_policy: Option<String>,
}

/// `<Kind> <name> in namespace <ns> has a <Reason> event: <message>` (without the
/// namespace part for cluster-scoped objects).
///
/// ```
/// use kev_core::{Event, ObjectRef};
/// let e = Event { reason: "BackOff".into(), message: "Back-off restarting failed container".into(),
///     regarding: ObjectRef { kind: "Pod".into(), name: "web-0".into(), namespace: "shop".into(), ..Default::default() },
///     ..Default::default() };
/// assert_eq!(kev_sinks::mcp::issue(&e),
///     "Pod web-0 in namespace shop has a BackOff event: Back-off restarting failed container");
/// ```
pub fn issue(event: &Event) -> String {
    let o = &event.regarding;
    let namespace = if o.namespace.is_empty() {
        &event.namespace
    } else {
        &o.namespace
    };
    let place = if namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {namespace}")
    };
    format!(
        "{} {}{place} has a {} event: {}",
        o.kind, o.name, event.reason, event.message
    )
}

/// The tool's arguments for `event`: `issue`, `mode`, in automatic mode
/// `confidenceThreshold` and `maxRiskLevel`, and with context on, `context`
/// (`event`, `logs`, `podSpec`, `relatedEvents`, and `failures` when a part could not
/// be gathered) and `policy`.
///
/// ```
/// use kev_sinks::mcp::{PayloadOptions, RemediationMode, RiskLevel, arguments};
/// let options = PayloadOptions { mode: RemediationMode::Manual, confidence_threshold: 0.8,
///     max_risk_level: RiskLevel::Low, context_policy: None };
/// let args = arguments(&kev_core::Event::default(), None, &options);
/// assert_eq!(args["mode"], "manual");
/// assert!(args.get("confidenceThreshold").is_none());
/// ```
pub fn arguments(
    event: &Event,
    context: Option<&EventContext>,
    options: &PayloadOptions,
) -> Map<String, Value> {
    let mut args = Map::new();
    args.insert("issue".into(), Value::String(issue(event)));
    args.insert("mode".into(), Value::String(options.mode.as_str().into()));
    if options.mode == RemediationMode::Automatic {
        args.insert(
            "confidenceThreshold".into(),
            json!(options.confidence_threshold),
        );
        args.insert(
            "maxRiskLevel".into(),
            Value::String(options.max_risk_level.as_str().into()),
        );
    }
    if let Some(policy) = &options.context_policy {
        let mut ctx = Map::new();
        ctx.insert("event".into(), json!(event));
        let empty = EventContext::default();
        let context = context.unwrap_or(&empty);
        ctx.insert("logs".into(), json!(context.logs));
        if let Some(spec) = &context.spec {
            ctx.insert("podSpec".into(), spec.clone());
        }
        ctx.insert("relatedEvents".into(), json!(context.related_events));
        if !context.failures.is_empty() {
            ctx.insert("failures".into(), json!(context.failures));
        }
        args.insert("context".into(), Value::Object(ctx));
        args.insert("policy".into(), Value::String(policy.clone()));
    }
    args
}
