//! The committed EventPolicy CRD files equal the generated one, the example policy
//! parses and validates, and the schema carries the defaults and bounds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::path::{Path, PathBuf};

use kev_daemon::policy::{EventPolicy, PolicyMode, TargetKind, crd_yaml};
use kube::CustomResourceExt;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every committed copy of the CRD: the source of truth under `deploy/crds`, the copy
/// `kubectl apply -f deploy/manifests` installs, and the Helm chart's `crds/`.
const COPIES: &[&str] = &[
    "deploy/crds/eventpolicy.yaml",
    "deploy/manifests/00-crd-eventpolicy.yaml",
    "deploy/helm/kev/crds/eventpolicy.yaml",
];

#[test]
fn committed_crd_files_match_the_generated_crd() {
    let generated = crd_yaml();
    let bless = std::env::var_os("KEV_BLESS").is_some();
    for copy in COPIES {
        let path = repo_root().join(copy);
        if bless {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{copy} differs from the CRD generated from crates/daemon/src/policy/crd.rs.\n\
             Regenerate it with: KEV_BLESS=1 cargo test -p kev-daemon --test policy_crd"
        );
    }
}

#[test]
fn crd_names_scope_and_status_subresource() {
    let crd: Value = serde_norway::from_str(&crd_yaml()).unwrap();
    let spec = &crd["spec"];
    assert_eq!(crd["metadata"]["name"], "eventpolicies.kev.dev");
    assert_eq!(spec["group"], "kev.dev");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "EventPolicy");
    assert_eq!(spec["names"]["shortNames"][0], "evp");
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
}

#[test]
fn schema_carries_descriptions_defaults_and_bounds() {
    let crd = EventPolicy::crd();
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
    let spec = &schema["openAPIV3Schema"]["properties"]["spec"];
    let props = &spec["properties"];
    assert_eq!(props["enabled"]["default"], true);
    assert_eq!(props["confidenceThreshold"]["minimum"], 0.0);
    assert_eq!(props["confidenceThreshold"]["maximum"], 1.0);
    assert_eq!(props["confidenceThreshold"]["default"], 0.8);
    assert_eq!(
        props["maxRiskLevel"]["enum"],
        serde_json::json!(["low", "medium", "high"])
    );
    assert_eq!(
        props["mode"]["enum"],
        serde_json::json!(["manual", "automatic"])
    );
    assert_eq!(
        props["target"]["properties"]["kind"]["enum"],
        serde_json::json!(["webhook", "mcp", "mcp-rest"])
    );
    assert_eq!(props["eventSelectors"]["minItems"], 1);
    let selector = &props["eventSelectors"]["items"]["properties"];
    assert_eq!(selector["minOccurrences"]["minimum"], 1.0);
    assert_eq!(
        selector["type"]["enum"],
        serde_json::json!(["Normal", "Warning"])
    );
    let required = spec["required"].as_array().unwrap();
    assert!(required.contains(&"eventSelectors".into()) && required.contains(&"target".into()));
    // Every property in the spec and status is documented.
    let mut undocumented = Vec::new();
    undocumented_properties(spec, "spec", &mut undocumented);
    undocumented_properties(
        &schema["openAPIV3Schema"]["properties"]["status"],
        "status",
        &mut undocumented,
    );
    assert!(undocumented.is_empty(), "no description: {undocumented:?}");
}

fn undocumented_properties(schema: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            let path = format!("{at}.{name}");
            if prop["description"].as_str().is_none_or(str::is_empty) {
                out.push(path.clone());
            }
            undocumented_properties(prop, &path, out);
        }
    }
    if schema["items"].is_object() {
        undocumented_properties(&schema["items"], &format!("{at}[]"), out);
    }
}

#[test]
fn example_policy_parses_and_validates() {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/examples/eventpolicy-crashloop.yaml"))
            .unwrap();
    let policy: EventPolicy = serde_norway::from_str(&text).unwrap();
    policy.validate().unwrap();
    assert_eq!(
        policy.metadata.name.as_deref(),
        Some("crashloop-remediation")
    );
    assert_eq!(policy.spec.target.kind, TargetKind::Mcp);
    assert_eq!(policy.spec.mode, PolicyMode::Automatic);
    assert!(
        policy
            .spec
            .event_selectors
            .iter()
            .any(|s| s.reason.as_deref() == Some("BackOff"))
    );
    // Nothing in the example is silently dropped: it round-trips to the same value.
    let original: Value = serde_norway::from_str(&text).unwrap();
    let again = serde_json::to_value(&policy).unwrap();
    assert_eq!(strip_nulls(again), original);
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// The rules of a structural schema the API server enforces that schemars could break:
/// a `type` on every node, no references or unions, and defaults of the node's type.
fn structural_problems(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Some(node) = schema.as_object() else {
        out.push(format!("{at}: not an object"));
        return;
    };
    for banned in [
        "$ref",
        "$defs",
        "definitions",
        "oneOf",
        "anyOf",
        "allOf",
        "not",
    ] {
        if node.contains_key(banned) {
            out.push(format!("{at}: has {banned}"));
        }
    }
    let ty = node.get("type").and_then(Value::as_str);
    if ty.is_none() {
        out.push(format!("{at}: no type"));
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        out.push(format!("{at}: both properties and additionalProperties"));
    }
    if let Some(default) = node.get("default") {
        let fits = match ty {
            Some("boolean") => default.is_boolean(),
            Some("integer") => default.is_i64() || default.is_u64(),
            Some("number") => default.is_number(),
            Some("string") => default.is_string(),
            Some("object") => default.is_object(),
            Some("array") => default.is_array(),
            _ => false,
        };
        if !fits {
            out.push(format!("{at}: default {default} is not a {ty:?}"));
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array)
            && !values.contains(default)
        {
            out.push(format!("{at}: default {default} is not in its enum"));
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            structural_problems(prop, &format!("{at}.{name}"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = node.get(key).filter(|v| v.is_object()) {
            structural_problems(sub, &format!("{at}.{key}"), out);
        }
    }
}

#[test]
fn schema_is_structural() {
    let crd = EventPolicy::crd();
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
    let mut problems = Vec::new();
    structural_problems(&schema["openAPIV3Schema"], "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    // The check itself finds what it looks for.
    let mut found = Vec::new();
    let bad = serde_json::json!({"type": "object", "properties": {
        "a": {"oneOf": [{"type": "string"}]},
        "b": {"type": "integer", "default": "x"},
        "c": {"type": "string", "enum": ["x"], "default": "y"}
    }});
    structural_problems(&bad, "", &mut found);
    assert_eq!(found.len(), 4, "{found:#?}");
}
