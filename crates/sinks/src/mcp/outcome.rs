//! [`RemediationRecord`]: what became of a remediation call, kept in the store next to
//! the event (namespace [`OUTCOME_NAMESPACE`], key = the event's idempotency key).

use jiff::Timestamp;
use kev_core::store::AsyncStore;
use kev_core::{SinkError, StoredEvent};
use serde::{Deserialize, Serialize};

/// The store namespace of remediation records ([`Store::put_state`]).
pub const OUTCOME_NAMESPACE: &str = "remediation";

/// How a remediation call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The tool ran and reported success.
    Success,
    /// The tool ran and reported failure (`success: false`, an MCP `isError` result).
    Failed,
    /// The service refused the request for good (a 4xx other than 408/429, a JSON-RPC
    /// invalid-request error); the event is also dead-lettered.
    Rejected,
}

impl OutcomeStatus {
    /// Label value for `kev_remediation_outcomes_total{outcome}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
}

/// One remediation call's outcome, stored as JSON:
///
/// ```json
/// {"route": "crashloops", "sink": "mcp", "protocol": "rest", "seq": 42,
///  "event": {"uid": "…", "resourceVersion": "…", "namespace": "shop", "kind": "Pod",
///            "name": "web-0", "reason": "BackOff"},
///  "status": "success", "summary": "Restarted the deployment", "requestId": "req-1",
///  "tool": "remediate", "executionTime": 12.5, "error": null,
///  "at": "2026-01-01T10:00:00Z", "durationMs": 12873}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationRecord {
    pub route: String,
    pub sink: String,
    /// `rest` or `mcp`.
    pub protocol: String,
    pub seq: u64,
    pub event: EventLink,
    pub status: OutcomeStatus,
    /// `data.result.summary`, else `message`, else `output` (REST); the structured
    /// result's same fields, else the text content (MCP).
    pub summary: Option<String>,
    /// `meta.requestId` of the answer.
    pub request_id: Option<String>,
    pub tool: Option<String>,
    /// `data.executionTime` as the service reported it.
    pub execution_time: Option<serde_json::Value>,
    /// `error.code: error.message` of a failed or rejected call.
    pub error: Option<String>,
    pub at: Timestamp,
    pub duration_ms: u64,
}

/// Which event a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLink {
    pub uid: String,
    pub resource_version: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub reason: String,
}

impl EventLink {
    pub fn of(stored: &StoredEvent) -> Self {
        let e = &stored.event;
        Self {
            uid: e.uid.clone(),
            resource_version: e.resource_version.clone(),
            namespace: e.namespace.clone(),
            kind: e.regarding.kind.clone(),
            name: e.regarding.name.clone(),
            reason: e.reason.clone(),
        }
    }
}

/// What a call produced, before it is stamped with the route and the event.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    pub status: OutcomeStatus,
    pub summary: Option<String>,
    pub request_id: Option<String>,
    pub tool: Option<String>,
    pub execution_time: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// Writes `record` under the event's idempotency key. A store that fails is a
/// retryable failure: the call is made again rather than its outcome lost.
pub(super) async fn save(
    store: &AsyncStore,
    key: String,
    record: &RemediationRecord,
) -> Result<(), SinkError> {
    let bytes = serde_json::to_vec(record)
        .map_err(|e| SinkError::permanent(format!("cannot encode the remediation record: {e}")))?;
    store
        .put_state(OUTCOME_NAMESPACE, key, bytes)
        .await
        .map_err(|e| SinkError::retryable(format!("cannot record the remediation outcome: {e}")))
}

/// The first non-empty string among `keys` of `value`.
pub(super) fn first_text(value: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match value.get(*k) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            Some(v.to_string())
        }
        _ => None,
    })
}
