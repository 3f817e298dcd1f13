//! `Status` objects as the API server writes them, for errors and watch ERROR events.

use serde_json::{Value, json};

use super::convert::{FieldError, Group};

/// A `metav1.Status` failure with `code`, `reason` and `message`; `details` when given.
pub fn failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        status["details"] = d;
    }
    status
}

/// 410 Expired for a watch or list from a compacted resourceVersion:
/// `too old resource version: 5 (12)`, as the watch cache says it.
pub fn expired(requested: u64, oldest: u64) -> Value {
    failure(
        410,
        "Expired",
        &format!("too old resource version: {requested} ({oldest})"),
        None,
    )
}

/// 410 Expired for a `continue` token past the compaction horizon.
pub fn continue_expired() -> Value {
    failure(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        None,
    )
}

pub fn not_found(group: Group, name: &str) -> Value {
    failure(
        404,
        "NotFound",
        &format!("events{} {name:?} not found", group_suffix(group)),
        Some(json!({"name": name, "group": group.group_name(), "kind": "events"})),
    )
}

pub fn already_exists(group: Group, name: &str) -> Value {
    failure(
        409,
        "AlreadyExists",
        &format!("events{} {name:?} already exists", group_suffix(group)),
        Some(json!({"name": name, "group": group.group_name(), "kind": "events"})),
    )
}

pub fn conflict(group: Group, name: &str) -> Value {
    failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on events{} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            group_suffix(group)
        ),
        Some(json!({"name": name, "group": group.group_name(), "kind": "events"})),
    )
}

/// 422 Invalid with one cause per field error, message `Event.events.k8s.io "x" is invalid: [...]`.
pub fn invalid(group: Group, name: &str, errors: &[FieldError]) -> Value {
    let rendered: Vec<String> = errors.iter().map(FieldError::render).collect();
    let list = if rendered.len() == 1 {
        rendered[0].clone()
    } else {
        format!("[{}]", rendered.join(", "))
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field}))
        .collect();
    failure(
        422,
        "Invalid",
        &format!("{} {name:?} is invalid: {list}", group.qualified_kind()),
        Some(json!({"name": name, "group": group.group_name(), "kind": "Event", "causes": causes})),
    )
}

pub fn bad_request(message: &str) -> Value {
    failure(400, "BadRequest", message, None)
}

fn group_suffix(group: Group) -> &'static str {
    match group {
        Group::Core => "",
        Group::Events => ".events.k8s.io",
    }
}
