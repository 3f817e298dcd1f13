//! The two API groups over one stored object: core/v1 ↔ events.k8s.io/v1 field
//! conversion and the API server's Event validation (`ValidateEventCreate`/`Update`).

use serde_json::{Map, Value};

/// The API group an Event is seen through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// `/api/v1`
    Core,
    /// `/apis/events.k8s.io/v1`
    Events,
}

impl Group {
    pub fn api_version(self) -> &'static str {
        match self {
            Self::Core => "v1",
            Self::Events => "events.k8s.io/v1",
        }
    }

    /// `Event` for core/v1, `Event.events.k8s.io` for the events group, as in the API
    /// server's error messages.
    pub fn qualified_kind(self) -> &'static str {
        match self {
            Self::Core => "Event",
            Self::Events => "Event.events.k8s.io",
        }
    }

    pub fn group_name(self) -> &'static str {
        match self {
            Self::Core => "",
            Self::Events => "events.k8s.io",
        }
    }
}

/// (core/v1 field, events.k8s.io/v1 field) pairs that differ only by name.
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// The events.k8s.io/v1 view of a stored core/v1 object (no type meta).
pub fn core_to_events(core: &Value) -> Value {
    rename(core, |k| {
        RENAMED.iter().find(|(c, _)| *c == k).map_or(k, |(_, e)| *e)
    })
}

/// The stored core/v1 form of an events.k8s.io/v1 object.
pub fn events_to_core(events: &Value) -> Value {
    rename(events, |k| {
        RENAMED.iter().find(|(_, e)| *e == k).map_or(k, |(c, _)| *c)
    })
}

fn rename<'a>(v: &'a Value, f: impl Fn(&'a str) -> &'a str) -> Value {
    let Value::Object(map) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "kind" || k == "apiVersion" {
            continue;
        }
        out.insert(f(k).to_owned(), v.clone());
    }
    Value::Object(out)
}

/// Fills what the API server defaults on a stored core/v1 Event: empty
/// `involvedObject` and `source`, empty reporting fields.
pub fn default_core(core: &mut Value) {
    if let Value::Object(map) = core {
        map.entry("involvedObject")
            .or_insert_with(|| Value::Object(Map::new()));
        map.entry("source")
            .or_insert_with(|| Value::Object(Map::new()));
        map.entry("reportingComponent")
            .or_insert_with(|| Value::from(""));
        map.entry("reportingInstance")
            .or_insert_with(|| Value::from(""));
    }
}

/// One field error, as the API server reports it in `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    /// `FieldValueRequired` or `FieldValueInvalid`.
    pub reason: &'static str,
    pub message: String,
}

impl FieldError {
    fn required(field: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueRequired",
            message: "Required value".into(),
        }
    }

    fn invalid(field: &str, value: &str, detail: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {value:?}: {detail}"),
        }
    }

    /// `field: message`, as in the Status message.
    pub fn render(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default()
}

fn is_set(v: &Value, key: &str) -> bool {
    !matches!(v.get(key), None | Some(Value::Null)) && !text(v, &[key]).is_empty()
}

/// Validation of a create, on the stored core/v1 form, for a request through `group`.
/// Mirrors `ValidateEventCreate`: legacy checks always, strict ones for events.k8s.io/v1.
pub fn validate_create(core: &Value, group: Group) -> Vec<FieldError> {
    let mut errs = legacy_validate(core);
    if group == Group::Core {
        return errs;
    }
    validate_series(core, &mut errs);
    if !is_set(core, "eventTime") {
        errs.push(FieldError::required("eventTime"));
    }
    let ty = text(core, &["type"]);
    if ty != "Normal" && ty != "Warning" {
        errs.push(FieldError::invalid(
            "type",
            "",
            &format!("has invalid value: {ty}"),
        ));
    }
    for (field, shown) in [
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
    ] {
        if is_set(core, field) {
            errs.push(FieldError::invalid(shown, "", "needs to be unset"));
        }
    }
    if core.get("count").and_then(Value::as_i64).unwrap_or(0) != 0 {
        errs.push(FieldError::invalid(
            "deprecatedCount",
            "",
            "needs to be unset",
        ));
    }
    if !text(core, &["source", "component"]).is_empty()
        || !text(core, &["source", "host"]).is_empty()
    {
        errs.push(FieldError::invalid(
            "deprecatedSource",
            "",
            "needs to be unset",
        ));
    }
    errs
}

/// Validation of an update through `group`: legacy checks, and for events.k8s.io/v1 the
/// immutability of everything but the series (and metadata labels/annotations).
pub fn validate_update(new: &Value, old: &Value, group: Group) -> Vec<FieldError> {
    let mut errs = legacy_validate(new);
    if group == Group::Core {
        return errs;
    }
    if new.get("series") != old.get("series") {
        validate_series(new, &mut errs);
    }
    for field in [
        "involvedObject",
        "reason",
        "message",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
        "type",
        "eventTime",
        "action",
        "related",
        "reportingComponent",
        "reportingInstance",
    ] {
        if new.get(field) != old.get(field) {
            let shown = core_to_events_field(field);
            errs.push(FieldError::invalid(shown, "", "field is immutable"));
        }
    }
    errs
}

fn core_to_events_field(field: &str) -> &str {
    RENAMED
        .iter()
        .find(|(c, _)| *c == field)
        .map_or(field, |(_, e)| e)
}

fn validate_series(core: &Value, errs: &mut Vec<FieldError>) {
    let Some(series) = core.get("series").filter(|s| !s.is_null()) else {
        return;
    };
    if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
        errs.push(FieldError::invalid(
            "series.count",
            "",
            "should be at least 2",
        ));
    }
    if !is_set(series, "lastObservedTime") {
        errs.push(FieldError::required("series.lastObservedTime"));
    }
}

/// `legacyValidateEvent`: namespace agreement, and for "new" events (eventTime set) the
/// reporting fields, action and reason and their lengths.
fn legacy_validate(core: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = text(core, &["metadata", "namespace"]);
    let involved_ns = text(core, &["involvedObject", "namespace"]);
    if !is_set(core, "eventTime") {
        let ok = if involved_ns.is_empty() {
            ns.is_empty() || ns == "default"
        } else {
            ns == involved_ns
        };
        if !ok {
            errs.push(FieldError::invalid(
                "involvedObject.namespace",
                involved_ns,
                "does not match event.namespace",
            ));
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(FieldError::invalid(
                "involvedObject.namespace",
                involved_ns,
                "does not match event.namespace",
            ));
        }
        let controller = text(core, &["reportingComponent"]);
        if controller.is_empty() {
            errs.push(FieldError::required("reportingController"));
        } else if let Some(detail) = qualified_name_error(controller) {
            errs.push(FieldError::invalid(
                "reportingController",
                controller,
                &detail,
            ));
        }
        for (field, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
            let value = text(core, &[field]);
            if value.is_empty() {
                errs.push(FieldError::required(field));
            } else if value.len() > limit {
                errs.push(FieldError::invalid(
                    field,
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
        if text(core, &["message"]).len() > 1024 {
            errs.push(FieldError::invalid(
                "message",
                "",
                "can have at most 1024 characters",
            ));
        }
    }
    if let Some(detail) = dns1123_subdomain_error(ns) {
        errs.push(FieldError::invalid("namespace", ns, &detail));
    }
    errs
}

/// `IsDNS1123Subdomain`: lowercase alphanumerics, `-` and `.`, alphanumeric at both
/// ends, at most 253 characters.
fn dns1123_subdomain_error(v: &str) -> Option<String> {
    if v.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    let ok = !v.is_empty()
        && v.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    (!ok).then(|| {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into()
    })
}

/// `IsQualifiedName`: an optional DNS subdomain prefix and `/`, then a name of at most
/// 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
fn qualified_name_error(v: &str) -> Option<String> {
    let name = match v.split_once('/') {
        Some((prefix, name)) => {
            if let Some(e) = dns1123_subdomain_error(prefix) {
                return Some(format!("prefix part {e}"));
            }
            name
        }
        None => v,
    };
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| {
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversion_round_trips_and_renames_fields() {
        let core = json!({"metadata": {"name": "a"}, "involvedObject": {"kind": "Pod"}, "message": "m", "count": 3, "reportingComponent": "x"});
        let events = core_to_events(&core);
        assert_eq!(events["regarding"]["kind"], "Pod");
        assert_eq!(events["note"], "m");
        assert_eq!(events["deprecatedCount"], 3);
        assert_eq!(events["reportingController"], "x");
        assert_eq!(events_to_core(&events), core);
    }

    #[test]
    fn strict_validation_names_each_missing_field() {
        let core = json!({"metadata": {"name": "a", "namespace": "ns"}, "involvedObject": {"namespace": "ns"}, "type": "Normal"});
        let fields: Vec<String> = validate_create(&core, Group::Events)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["eventTime"]);
        assert!(validate_create(&core, Group::Core).is_empty());

        let core = json!({"metadata": {"name": "a", "namespace": "ns"}, "involvedObject": {"namespace": "ns"},
            "eventTime": "2024-01-01T00:00:00.000000Z", "type": "Bad", "count": 2});
        let fields: Vec<String> = validate_create(&core, Group::Events)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "reportingController",
                "reportingInstance",
                "action",
                "reason",
                "type",
                "deprecatedCount"
            ]
        );
    }

    #[test]
    fn names_are_checked_like_the_api_server() {
        assert!(qualified_name_error("kev.dev/recorder").is_none());
        assert!(qualified_name_error("-bad").is_some());
        assert!(dns1123_subdomain_error("Default").is_some());
    }
}
