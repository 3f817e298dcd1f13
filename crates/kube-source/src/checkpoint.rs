//! The source's checkpoint position: the resourceVersion of each watch, as a JSON
//! object keyed by watch (`{"core":"123","events":"456"}`, `{"core/web":"77"}`).

use std::collections::BTreeMap;

/// Parses a stored position; `Err` names what is wrong.
///
/// ```
/// let p = kev_kube_source::checkpoint::parse(r#"{"core":"123","events":"456"}"#).unwrap();
/// assert_eq!(p["events"], "456");
/// assert!(kev_kube_source::checkpoint::parse("123").is_err());
/// ```
pub fn parse(position: &str) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_str(position)
        .map_err(|e| format!("expected a JSON object of resourceVersions per watch: {e}"))
}

/// Renders positions, skipping watches that have none yet.
///
/// ```
/// let keys = ["core".to_string(), "events".to_string()];
/// let rvs = [Some("1".to_string()), None];
/// assert_eq!(kev_kube_source::checkpoint::render(&keys, &rvs), r#"{"core":"1"}"#);
/// ```
pub fn render(keys: &[String], rvs: &[Option<String>]) -> String {
    let mut out = String::with_capacity(16 + keys.len() * 24);
    out.push('{');
    let mut first = true;
    for (key, rv) in keys.iter().zip(rvs) {
        let Some(rv) = rv else { continue };
        if !first {
            out.push(',');
        }
        first = false;
        // Keys are `core`, `events` and namespace names, resourceVersions are digits
        // in practice; serde_json escapes whatever else comes.
        out.push_str(&serde_json::Value::from(key.as_str()).to_string());
        out.push(':');
        out.push_str(&serde_json::Value::from(rv.as_str()).to_string());
    }
    out.push('}');
    out
}
