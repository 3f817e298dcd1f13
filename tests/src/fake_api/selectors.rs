//! Field and label selectors on Events, the subset the API server supports for them.

use serde_json::Value;

use super::convert::Group;

/// A parsed `fieldSelector` and `labelSelector`; both empty: everything matches.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    fields: Vec<(String, bool, String)>,
    labels: Vec<LabelReq>,
}

#[derive(Debug, Clone)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
}

/// Event fields the API server allows in field selectors (`pkg/registry/core/event`),
/// and their events.k8s.io/v1 spellings.
const EVENT_FIELDS: [&str; 13] = [
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

impl Selector {
    /// Parses both selectors; the error is the API server's 400 message.
    pub fn parse(group: Group, field: Option<&str>, label: Option<&str>) -> Result<Self, String> {
        let mut sel = Self::default();
        for term in field
            .unwrap_or_default()
            .split(',')
            .filter(|t| !t.is_empty())
        {
            let (key, eq, value) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{term}'; can't understand '{term}'"
                ));
            };
            let key = canonical_field(group, key.trim());
            if !EVENT_FIELDS.contains(&key.as_str()) {
                return Err(format!("field label not supported: {}", key));
            }
            sel.fields.push((key, eq, value.trim().to_owned()));
        }
        for term in label
            .unwrap_or_default()
            .split(',')
            .filter(|t| !t.is_empty())
        {
            let term = term.trim();
            let req = if let Some((k, v)) = term.split_once("!=") {
                LabelReq::NotEq(k.into(), v.into())
            } else if let Some((k, v)) = term.split_once("==") {
                LabelReq::Eq(k.into(), v.into())
            } else if let Some((k, v)) = term.split_once('=') {
                LabelReq::Eq(k.into(), v.into())
            } else if term.contains(' ') || term.contains('(') {
                return Err(format!(
                    "unable to parse requirement: set-based selector {term:?} is not supported by the fake API server"
                ));
            } else if let Some(k) = term.strip_prefix('!') {
                LabelReq::NotExists(k.into())
            } else {
                LabelReq::Exists(term.into())
            };
            sel.labels.push(req);
        }
        Ok(sel)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.labels.is_empty()
    }

    /// Whether the stored core/v1 object matches.
    pub fn matches(&self, core: &Value) -> bool {
        let fields_ok = self.fields.iter().all(|(key, eq, want)| {
            let have = field_value(core, key);
            (have == *want) == *eq
        });
        let labels = &core["metadata"]["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        fields_ok
            && self.labels.iter().all(|r| match r {
                LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
                LabelReq::NotEq(k, v) => label(k) != Some(v.as_str()),
                LabelReq::Exists(k) => label(k).is_some(),
                LabelReq::NotExists(k) => label(k).is_none(),
            })
    }
}

/// events.k8s.io/v1 names (`regarding.kind`, `reportingController`, `deprecatedSource`)
/// mapped onto the stored core/v1 ones.
fn canonical_field(group: Group, key: &str) -> String {
    if group == Group::Events {
        if let Some(rest) = key.strip_prefix("regarding.") {
            return format!("involvedObject.{rest}");
        }
        match key {
            "reportingController" => return "reportingComponent".into(),
            "deprecatedSource" => return "source".into(),
            _ => {}
        }
    }
    key.to_owned()
}

fn field_value(core: &Value, key: &str) -> String {
    if key == "source" {
        return core["source"]["component"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    let mut cur = core;
    for part in key.split('.') {
        cur = &cur[part];
    }
    cur.as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_by_field_and_label() {
        let ev = json!({"metadata": {"name": "a", "labels": {"app": "web"}}, "involvedObject": {"kind": "Pod"}, "type": "Warning"});
        let s = Selector::parse(
            Group::Core,
            Some("type=Warning,involvedObject.kind!=Node"),
            Some("app=web"),
        )
        .unwrap();
        assert!(s.matches(&ev));
        let s = Selector::parse(Group::Events, Some("regarding.kind=Node"), None).unwrap();
        assert!(!s.matches(&ev));
        let s = Selector::parse(Group::Core, None, Some("!app")).unwrap();
        assert!(!s.matches(&ev));
        assert!(Selector::parse(Group::Core, Some("spec.x=1"), None).is_err());
    }
}
