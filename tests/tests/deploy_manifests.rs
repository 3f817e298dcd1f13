//! Every document under `deploy/manifests` parses strictly into its Kubernetes type
//! (a field the type does not know fails, by name), the Deployment is locked down,
//! the RBAC grants exactly what kev needs, and the Helm chart's defaults agree.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, PersistentVolumeClaim, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `monitoring.coreos.com/v1` ServiceMonitor, the part kev uses.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceMonitorSpec {
    selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<NamespaceSelector>,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceSelector {
    match_names: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scrape_timeout: Option<String>,
}

/// All documents of every `.yaml` file under `dir`, recursively, with their origin.
fn documents(dir: &Path) -> Vec<(String, Value)> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files);
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, doc) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: document {i}: {e}", file.display()));
            if !value.is_null() {
                docs.push((format!("{}#{i}", file.display()), value));
            }
        }
    }
    docs
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Deserializes `doc` into `T` and fails, naming the fields, if anything in `doc` does
/// not survive the trip back: k8s-openapi types ignore unknown fields, so a field that
/// is lost is one the type does not know (a typo, or a field at the wrong level).
fn strict<T: DeserializeOwned + Serialize>(origin: &str, doc: &Value) -> T {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{origin}: not a valid {}: {e}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&typed).unwrap();
    let mut lost = Vec::new();
    lost_fields(doc, &back, "", &mut lost);
    assert!(
        lost.is_empty(),
        "{origin}: unknown or mistyped field(s) for {}: {}",
        std::any::type_name::<T>(),
        lost.join(", ")
    );
    typed
}

fn lost_fields(original: &Value, back: &Value, at: &str, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let path = format!("{at}.{key}");
                match b.get(key) {
                    Some(v) => lost_fields(value, v, &path, out),
                    None => out.push(path),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                lost_fields(x, y, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{at} ({a} became {b})")),
    }
}

#[derive(Default)]
struct Manifests {
    namespaces: Vec<Namespace>,
    service_accounts: Vec<ServiceAccount>,
    cluster_roles: Vec<ClusterRole>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
    roles: Vec<Role>,
    role_bindings: Vec<RoleBinding>,
    config_maps: Vec<ConfigMap>,
    claims: Vec<PersistentVolumeClaim>,
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    service_monitors: Vec<ServiceMonitor>,
    /// Its groups are checked by promtool in `alert_rules.rs`.
    prometheus_rules: Vec<Value>,
    crds: Vec<CustomResourceDefinition>,
}

fn load() -> Manifests {
    let mut m = Manifests::default();
    for (origin, doc) in documents(&repo_root().join("deploy/manifests")) {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        let o = origin.as_str();
        match (api_version, kind) {
            ("v1", "Namespace") => m.namespaces.push(strict(o, &doc)),
            ("v1", "ServiceAccount") => m.service_accounts.push(strict(o, &doc)),
            ("v1", "ConfigMap") => m.config_maps.push(strict(o, &doc)),
            ("v1", "PersistentVolumeClaim") => m.claims.push(strict(o, &doc)),
            ("v1", "Service") => m.services.push(strict(o, &doc)),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                m.cluster_roles.push(strict(o, &doc))
            }
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                m.cluster_role_bindings.push(strict(o, &doc))
            }
            ("rbac.authorization.k8s.io/v1", "Role") => m.roles.push(strict(o, &doc)),
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                m.role_bindings.push(strict(o, &doc))
            }
            ("apps/v1", "Deployment") => m.deployments.push(strict(o, &doc)),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => m.crds.push(strict(o, &doc)),
            ("monitoring.coreos.com/v1", "ServiceMonitor") => {
                m.service_monitors.push(strict(o, &doc))
            }
            ("monitoring.coreos.com/v1", "PrometheusRule") => m.prometheus_rules.push(doc),
            other => panic!("{origin}: no check for {other:?}; add it to this test"),
        }
    }
    m
}

#[test]
fn every_manifest_parses_strictly_and_each_kind_is_there_once() {
    let m = load();
    let counts = [
        ("Namespace", m.namespaces.len()),
        ("ServiceAccount", m.service_accounts.len()),
        ("ClusterRole", m.cluster_roles.len()),
        ("ClusterRoleBinding", m.cluster_role_bindings.len()),
        ("Role", m.roles.len()),
        ("RoleBinding", m.role_bindings.len()),
        ("ConfigMap", m.config_maps.len()),
        ("PersistentVolumeClaim", m.claims.len()),
        ("Deployment", m.deployments.len()),
        ("Service", m.services.len()),
        ("ServiceMonitor", m.service_monitors.len()),
        ("PrometheusRule", m.prometheus_rules.len()),
        ("CustomResourceDefinition", m.crds.len()),
    ];
    for (kind, n) in counts {
        assert_eq!(n, 1, "expected one {kind} in deploy/manifests, found {n}");
    }
    assert_eq!(
        m.crds[0].metadata.name.as_deref(),
        Some("eventpolicies.kev.dev")
    );
    // Namespaced objects all live in kev's namespace.
    let ns = "kev";
    assert_eq!(m.namespaces[0].metadata.name.as_deref(), Some(ns));
    for meta in [
        &m.service_accounts[0].metadata,
        &m.roles[0].metadata,
        &m.role_bindings[0].metadata,
        &m.config_maps[0].metadata,
        &m.claims[0].metadata,
        &m.deployments[0].metadata,
        &m.services[0].metadata,
        &m.service_monitors[0].metadata,
    ] {
        assert_eq!(meta.namespace.as_deref(), Some(ns), "{:?}", meta.name);
    }
}

#[test]
fn the_strict_check_names_an_unknown_field() {
    let doc: Value = serde_norway::from_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 1, targetPrt: 2}]\n",
    )
    .unwrap();
    let failure = std::panic::catch_unwind(|| strict::<Service>("doc", &doc)).unwrap_err();
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(message.contains(".spec.ports[0].targetPrt"), "{message}");
}

fn kev_container(deployment: &Deployment) -> &Container {
    let pod = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    pod.containers.iter().find(|c| c.name == "kev").unwrap()
}

#[test]
fn deployment_runs_locked_down_with_probes_and_a_single_writer() {
    let m = load();
    let deployment = &m.deployments[0];
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!(
        spec.strategy.as_ref().unwrap().type_.as_deref(),
        Some("Recreate")
    );
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("kev"));
    let pod_sc = pod.security_context.as_ref().unwrap();
    assert_eq!(pod_sc.run_as_non_root, Some(true));
    assert_eq!(pod_sc.run_as_user, Some(65532));
    let c = kev_container(deployment);
    assert_eq!(c.image.as_deref(), Some("ghcr.io/kev-dev/kev:0.1.0"));
    assert_eq!(
        c.args.as_deref().unwrap(),
        ["run", "--config", "/etc/kev/kev.yaml"]
    );
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.run_as_user, Some(65532));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.privileged, None);
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref().unwrap(),
        ["ALL"]
    );
    assert!(sc.capabilities.as_ref().unwrap().add.is_none());
    assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    let port = &c.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.container_port),
        (Some("metrics"), 9464)
    );
    for (probe, path) in [
        (c.liveness_probe.as_ref(), "/healthz"),
        (c.readiness_probe.as_ref(), "/readyz"),
    ] {
        let get = probe.unwrap().http_get.as_ref().unwrap();
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String("metrics".into()));
    }
    let resources = c.resources.as_ref().unwrap();
    for key in ["cpu", "memory"] {
        assert!(resources.requests.as_ref().unwrap().contains_key(key));
        assert!(resources.limits.as_ref().unwrap().contains_key(key));
    }
    // The store is on the claim, the config from the ConfigMap.
    let mounts = c.volume_mounts.as_ref().unwrap();
    let volume_of = |path: &str| {
        let mount = mounts.iter().find(|m| m.mount_path == path).unwrap();
        pod.volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|v| v.name == mount.name)
            .unwrap()
    };
    assert_eq!(
        volume_of("/var/lib/kev")
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        m.claims[0].metadata.name.clone().unwrap()
    );
    assert_eq!(
        volume_of("/etc/kev").config_map.as_ref().unwrap().name,
        m.config_maps[0].metadata.name.clone().unwrap()
    );
    // The Service and ServiceMonitor reach the pod's metrics port.
    let service = m.services[0].spec.as_ref().unwrap();
    let selector = service.selector.as_ref().unwrap();
    let pod_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let service_port = &service.ports.as_ref().unwrap()[0];
    assert_eq!(service_port.port, 9464);
    assert_eq!(service_port.name.as_deref(), Some("metrics"));
    let monitor = &m.service_monitors[0].spec;
    assert_eq!(monitor.endpoints[0].port, "metrics");
    let service_labels = m.services[0].metadata.labels.as_ref().unwrap();
    let wanted = monitor.selector.match_labels.as_ref().unwrap();
    assert!(wanted.iter().all(|(k, v)| service_labels.get(k) == Some(v)));
}

/// (group, resource, verb) triples a set of rules grants; fails on a wildcard or a
/// rule narrowed by resourceNames or nonResourceURLs, which this list cannot express.
fn grants(rules: &[PolicyRule]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in rules {
        assert!(rule.resource_names.is_none() && rule.non_resource_urls.is_none());
        for group in rule.api_groups.as_deref().unwrap_or_default() {
            for resource in rule.resources.as_deref().unwrap_or_default() {
                for verb in &rule.verbs {
                    for part in [group, resource, verb] {
                        assert!(!part.contains('*'), "wildcard in {rule:?}");
                    }
                    out.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    out
}

fn triples(list: &[(&str, &str, &[&str])]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .flat_map(|(g, r, verbs)| {
            verbs
                .iter()
                .map(move |v| (g.to_string(), r.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn rbac_grants_exactly_what_kev_needs() {
    let m = load();
    let event_verbs: &[&str] = &["get", "list", "watch", "create", "patch"];
    let expected = triples(&[
        ("", "events", event_verbs),
        ("events.k8s.io", "events", event_verbs),
        ("", "pods", &["get"]),
        ("", "pods/log", &["get"]),
        ("kev.dev", "eventpolicies", &["get", "list", "watch"]),
        (
            "kev.dev",
            "eventpolicies/status",
            &["get", "patch", "update"],
        ),
        // EventPolicy `target.secretRef`: read one named Secret, never list or watch.
        ("", "secrets", &["get"]),
    ]);
    // The owner walk of the kube source: `get` on each kind it reads.
    let mut expected = expected;
    for (group, _, _, plural) in kev_kube_source::owners::WALKED {
        expected.insert((group.into(), plural.into(), "get".into()));
    }
    let granted = grants(m.cluster_roles[0].rules.as_deref().unwrap());
    assert_eq!(granted, expected);

    let leases = grants(m.roles[0].rules.as_deref().unwrap());
    assert_eq!(
        leases,
        triples(&[(
            "coordination.k8s.io",
            "leases",
            &["get", "create", "update"]
        )])
    );

    let sa = m.service_accounts[0].metadata.name.clone().unwrap();
    let bound = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
        let s = &subjects.as_ref().unwrap()[0];
        (s.kind.clone(), s.name.clone(), s.namespace.clone())
    };
    let want = ("ServiceAccount".to_owned(), sa, Some("kev".to_owned()));
    assert_eq!(bound(&m.cluster_role_bindings[0].subjects), want);
    assert_eq!(bound(&m.role_bindings[0].subjects), want);
    assert_eq!(
        m.cluster_role_bindings[0].role_ref.name,
        m.cluster_roles[0].metadata.name.clone().unwrap()
    );
    assert_eq!(m.role_bindings[0].role_ref.kind, "Role");
    assert_eq!(
        m.role_bindings[0].role_ref.name,
        m.roles[0].metadata.name.clone().unwrap()
    );
}

fn configmap_kev_yaml(m: &Manifests) -> Value {
    let text = &m.config_maps[0].data.as_ref().unwrap()["kev.yaml"];
    serde_norway::from_str(text).unwrap()
}

#[test]
fn configmap_stores_in_the_mounted_volume() {
    let m = load();
    let config = configmap_kev_yaml(&m);
    assert_eq!(config["source"]["type"], "kube");
    assert_eq!(config["store"]["type"], "redb");
    assert_eq!(config["store"]["path"], "/var/lib/kev");
    assert_eq!(config["routes"][0]["sinks"][0]["type"], "stdout");
    assert_eq!(config["server"]["listen"], "0.0.0.0:9464");
}

fn helm_values() -> Value {
    let text = std::fs::read_to_string(repo_root().join("deploy/helm/kev/values.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

#[test]
fn helm_defaults_agree_with_the_manifests() {
    let m = load();
    let values = helm_values();
    assert_eq!(values["config"], configmap_kev_yaml(&m));
    let chart: Value = serde_norway::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/helm/kev/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "kev");
    let c = kev_container(&m.deployments[0]);
    assert_eq!(
        c.image.as_deref().unwrap(),
        format!(
            "{}:{}",
            values["image"]["repository"].as_str().unwrap(),
            chart["appVersion"].as_str().unwrap()
        )
    );
    assert_eq!(
        values["image"]["tag"], "",
        "an empty tag means the appVersion"
    );
    let resources = serde_json::to_value(c.resources.as_ref().unwrap()).unwrap();
    assert_eq!(values["resources"], resources);
    let sc = serde_json::to_value(c.security_context.as_ref().unwrap()).unwrap();
    assert_eq!(values["securityContext"], sc);
    let pod = m.deployments[0]
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    let pod_sc = serde_json::to_value(pod.security_context.as_ref().unwrap()).unwrap();
    assert_eq!(values["podSecurityContext"], pod_sc);
    assert_eq!(
        values["persistence"]["size"],
        serde_json::to_value(
            &m.claims[0]
                .spec
                .as_ref()
                .unwrap()
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()["storage"]
        )
        .unwrap()
    );
}

#[test]
fn every_value_the_chart_templates_use_is_in_values_yaml() {
    let values = helm_values();
    let reference = regex::Regex::new(r"\.Values\.([A-Za-z0-9_.]+)").unwrap();
    let dir = repo_root().join("deploy/helm/kev/templates");
    let mut missing = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for cap in reference.captures_iter(&text) {
            seen += 1;
            let dotted = cap[1].trim_end_matches('.');
            let mut at = &values;
            for part in dotted.split('.') {
                at = &at[part];
            }
            if at.is_null() && !values_path_is_explicit_null(&values, dotted) {
                missing.push(format!("{}: .Values.{dotted}", path.display()));
            }
        }
    }
    assert!(seen > 20, "found only {seen} .Values references");
    assert!(missing.is_empty(), "not in values.yaml: {missing:?}");
}

/// `nodeSelector: {}`-style keys exist with an empty value; a key set to `null` exists too.
fn values_path_is_explicit_null(values: &Value, dotted: &str) -> bool {
    let mut at = values;
    let parts: Vec<&str> = dotted.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        match at.as_object() {
            Some(map) if map.contains_key(*part) => {
                if i + 1 == parts.len() {
                    return true;
                }
                at = &map[*part];
            }
            _ => return false,
        }
    }
    false
}

#[test]
fn e2e_manifests_parse_strictly_and_the_policy_validates() {
    use k8s_openapi::api::core::v1::Pod;
    use kev_daemon::policy::EventPolicy;
    let mut kinds = Vec::new();
    for (origin, doc) in documents(&repo_root().join("deploy/e2e")) {
        let o = origin.as_str();
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        match (
            doc["apiVersion"].as_str().unwrap_or_default(),
            kind.as_str(),
        ) {
            ("v1", "Namespace") => {
                let _: Namespace = strict(o, &doc);
            }
            ("v1", "Service") => {
                let _: Service = strict(o, &doc);
            }
            ("v1", "Pod") => {
                let _: Pod = strict(o, &doc);
            }
            ("apps/v1", "Deployment") => {
                let _: Deployment = strict(o, &doc);
            }
            ("kev.dev/v1alpha1", "EventPolicy") => {
                let policy: EventPolicy = serde_json::from_value(doc.clone()).unwrap();
                policy.validate().unwrap();
                assert_eq!(policy.metadata.namespace.as_deref(), Some("kev"));
            }
            other => panic!("{origin}: unexpected {other:?}"),
        }
        kinds.push(kind);
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "Deployment",
            "EventPolicy",
            "Namespace",
            "Pod",
            "Service"
        ]
    );
}
