//! [`EventPolicy`]: the `kev.dev/v1alpha1` custom resource that declares a route from
//! the cluster — which events, what context, where to, how often — and its status.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The desired route: which events, what context, where to, whether the target may
/// act by itself, and how often.
// kube's `printcolumn(...)` repeats `type_ = ...` by design; clippy takes them for
// duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Debug, Clone, PartialEq, JsonSchema)]
#[kube(
    group = "kev.dev",
    version = "v1alpha1",
    kind = "EventPolicy",
    namespaced,
    shortname = "evp",
    category = "kev",
    status = "EventPolicyStatus",
    derive = "PartialEq",
    doc = "EventPolicy declares a kev route from the cluster's Events: which events \
           (eventSelectors), what context to gather (contextGathering), where to deliver \
           (target), whether a remediation may act by itself (mode), and how often \
           (rateLimiting).",
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(name = "Target", type_ = "string", json_path = ".spec.target.kind"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Processed",
        type_ = "integer",
        json_path = ".status.totalEventsProcessed"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct EventPolicySpec {
    /// Whether the policy's route runs. A disabled policy keeps its cursor and status.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Which events take this route: an event matches if it matches any selector.
    #[schemars(length(min = 1))]
    pub event_selectors: Vec<EventSelector>,
    /// What is gathered around a matching event before it is delivered.
    #[serde(default)]
    pub context_gathering: ContextGathering,
    /// Where matching events (with their context) are delivered.
    pub target: Target,
    /// `manual`: the target only analyses and proposes; `automatic`: it may apply a
    /// remediation within `confidenceThreshold` and `maxRiskLevel`.
    #[serde(default)]
    pub mode: PolicyMode,
    /// Automatic mode only: the least confidence (0 to 1) a remediation needs to be
    /// applied without a human. Passed on to the target.
    #[serde(default = "default_confidence_threshold")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence_threshold: f64,
    /// Automatic mode only: the highest risk level of a remediation applied without a
    /// human. Passed on to the target.
    #[serde(default)]
    pub max_risk_level: RiskLevel,
    /// How often this policy delivers, per involved object and reason.
    #[serde(default)]
    pub rate_limiting: RateLimiting,
}

/// One selector: every field given must match (an empty selector matches all events).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSelector {
    /// Event type: `Normal` or `Warning`. Absent: both.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<EventType>,
    /// Exact event reason, e.g. `BackOff`, `FailedScheduling`. Absent: any reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Kind of the involved (regarding) object, e.g. `Pod`. Absent: any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub involved_object_kind: Option<String>,
    /// Namespace of the event. Absent: any namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels the event must carry, all of them with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Regular expression (Rust `regex` syntax) the event message must contain a match of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The event must have occurred at least this often (its count, summed over the
    /// same object and reason) within `occurrenceWindowSeconds` to match.
    #[serde(default = "default_min_occurrences")]
    #[schemars(range(min = 1))]
    pub min_occurrences: u32,
    /// Window in seconds over which `minOccurrences` is counted.
    #[serde(default = "default_occurrence_window_seconds")]
    #[schemars(range(min = 1, max = 86400))]
    pub occurrence_window_seconds: u32,
}

/// Event type, as in the Event's `type` field.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum EventType {
    /// Routine events.
    Normal,
    /// Something may be wrong.
    Warning,
}

/// Context sent along with a matching event.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextGathering {
    /// Include the last `logLines` lines of the involved pod's containers (previous
    /// instance too, when it restarted).
    #[serde(default)]
    pub include_logs: bool,
    /// Log lines per container when `includeLogs` is set.
    #[serde(default = "default_log_lines")]
    #[schemars(range(min = 1, max = 10000))]
    pub log_lines: u32,
    /// Include other stored events about the same object from the last
    /// `lookbackMinutes`.
    #[serde(default = "default_true")]
    pub include_related_events: bool,
    /// How far back related events are looked up, in minutes.
    #[serde(default = "default_lookback_minutes")]
    #[schemars(range(min = 1, max = 10080))]
    pub lookback_minutes: u32,
    /// Include the involved object's spec (Secret values are never included).
    #[serde(default)]
    pub include_spec: bool,
}

impl Default for ContextGathering {
    fn default() -> Self {
        Self {
            include_logs: false,
            log_lines: default_log_lines(),
            include_related_events: true,
            lookback_minutes: default_lookback_minutes(),
            include_spec: false,
        }
    }
}

/// The receiver of the policy's events.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `webhook` (JSON POST), `mcp` (an MCP tool call over Streamable HTTP) or
    /// `mcp-rest` (the same tool through its REST endpoint).
    pub kind: TargetKind,
    /// Absolute `http://` or `https://` URL of the receiver.
    #[schemars(length(min = 1))]
    pub endpoint: String,
    /// MCP tool to call (`mcp`, `mcp-rest`); default `remediate`. Not used by `webhook`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Secret in the policy's namespace holding the credential (a bearer token) sent
    /// to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
}

/// Kind of target.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// HTTP POST of the event JSON.
    Webhook,
    /// MCP tool call over Streamable HTTP.
    Mcp,
    /// MCP tool through its REST endpoint (`POST {endpoint}/api/v1/tools/{tool}`).
    McpRest,
}

/// A key of a Secret in the policy's namespace.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key within the Secret's data.
    #[schemars(length(min = 1))]
    pub key: String,
}

/// Whether the target may act by itself.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// The target analyses and proposes; a human applies.
    #[default]
    Manual,
    /// The target may apply remediations within the confidence and risk limits.
    Automatic,
}

/// Risk level of a remediation.
#[derive(
    Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Reversible, local changes only.
    #[default]
    Low,
    /// Changes with limited blast radius.
    Medium,
    /// Any change.
    High,
}

/// Delivery limits, per involved object and reason.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimiting {
    /// Events delivered per minute at most (token bucket refill rate).
    #[serde(default = "default_events_per_minute")]
    #[schemars(range(min = 1, max = 10000))]
    pub events_per_minute: u32,
    /// After a delivery, the same object and reason wait this many minutes (0: none).
    #[serde(default = "default_cooldown_minutes")]
    #[schemars(range(max = 1440))]
    pub cooldown_minutes: u32,
}

impl Default for RateLimiting {
    fn default() -> Self {
        Self {
            events_per_minute: default_events_per_minute(),
            cooldown_minutes: default_cooldown_minutes(),
        }
    }
}

/// What kev reports about a policy (updated at most every 10 s).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPolicyStatus {
    /// When the last event that matched this policy was processed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_processed_event: Option<String>,
    /// Events that matched the policy's selectors.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub total_events_processed: i64,
    /// Events the target acknowledged.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub successful_deliveries: i64,
    /// Deliveries that failed for good (dead-lettered).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub failed_deliveries: i64,
    /// Events held back by `rateLimiting`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub rate_limited: i64,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: the policy is valid and its route runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PolicyCondition>,
}

/// A status condition, as `metav1.Condition`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyCondition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Machine-readable CamelCase reason of the last transition, e.g. `InvalidSpec`.
    pub reason: String,
    /// Human-readable details.
    #[serde(default)]
    pub message: String,
    /// When the status last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// The `metadata.generation` the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Status of a condition.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

fn default_true() -> bool {
    true
}
fn default_confidence_threshold() -> f64 {
    0.8
}
fn default_min_occurrences() -> u32 {
    1
}
fn default_occurrence_window_seconds() -> u32 {
    300
}
fn default_log_lines() -> u32 {
    100
}
fn default_lookback_minutes() -> u32 {
    60
}
fn default_events_per_minute() -> u32 {
    10
}
fn default_cooldown_minutes() -> u32 {
    5
}
