//! [`KubeEnricher`]: the Kubernetes part of an event's context — the involved object
//! from the API server with secret values stripped, and the last log lines of the
//! involved pod's containers.
//!
//! Each part is optional ([`EnrichConfig`]) and a part that fails is reported in the
//! context, never fatal. Related events come from kev's store
//! ([`kev_core::enrich::RelatedEventsEnricher`]); chain both with
//! [`kev_core::enrich::Enrichers`].

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kev_core::enrich::{ContainerLogs, EnrichConfig, Enricher, EventContext, tail_bytes};
use kev_core::{ObjectRef, StoredEvent};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, LogParams};
use kube::discovery::Scope;
use serde_json::Value;

/// Placed where a secret value was removed.
pub const REDACTED: &str = "<redacted by kev>";

/// Fetches the involved object and pod logs for an event.
///
/// ```no_run
/// # async fn f(client: kube::Client) {
/// let enricher = kev_kube_source::enrich::KubeEnricher::new(client, Default::default());
/// # let _ = enricher; }
/// ```
#[derive(Clone)]
pub struct KubeEnricher {
    client: kube::Client,
    config: EnrichConfig,
}

impl std::fmt::Debug for KubeEnricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeEnricher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KubeEnricher {
    pub fn new(client: kube::Client, config: EnrichConfig) -> Self {
        Self { client, config }
    }

    /// The object as the API server has it, through the known-kinds table or, for
    /// other kinds, API discovery of its group and version.
    async fn fetch(&self, object: &ObjectRef, namespace: &str) -> Result<Value, String> {
        let (resource, scope) = match known_kind(&object.api_version, &object.kind) {
            Some(found) => found,
            None => {
                let (group, version) = split_api_version(&object.api_version);
                let gvk = GroupVersionKind::gvk(group, version, &object.kind);
                let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot discover {} {}: {e}",
                            object.api_version, object.kind
                        )
                    })?;
                (resource, caps.scope)
            }
        };
        let api: Api<DynamicObject> = match scope {
            Scope::Namespaced => Api::namespaced_with(self.client.clone(), namespace, &resource),
            Scope::Cluster => Api::all_with(self.client.clone(), &resource),
        };
        let found = api
            .get(&object.name)
            .await
            .map_err(|e| format!("cannot get {} {}: {e}", object.kind, object.name))?;
        serde_json::to_value(found).map_err(|e| format!("cannot encode {}: {e}", object.kind))
    }

    async fn logs(
        &self,
        pod: &Value,
        object: &ObjectRef,
        namespace: &str,
        crashed: bool,
        context: &mut EventContext,
    ) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let restarted = restart_counts(pod);
        for container in container_names(pod) {
            let mut runs = vec![false];
            // The previous instance holds the crash; only ask when there was one.
            if crashed && restarted.iter().any(|(c, n)| *c == container && *n > 0) {
                runs.push(true);
            }
            for previous in runs {
                let params = LogParams {
                    container: Some(container.clone()),
                    tail_lines: Some(i64::from(self.config.logs.lines)),
                    previous,
                    ..LogParams::default()
                };
                match api.logs(&object.name, &params).await {
                    Ok(text) => {
                        let (text, truncated) = tail_bytes(&text, self.config.logs.bytes);
                        context.logs.push(ContainerLogs {
                            container: container.clone(),
                            previous,
                            text,
                            truncated,
                        });
                    }
                    Err(e) => context.fail(
                        "logs",
                        format!(
                            "container {container}{}: {e}",
                            if previous { " (previous)" } else { "" }
                        ),
                    ),
                }
            }
        }
    }
}

#[async_trait]
impl Enricher for KubeEnricher {
    async fn enrich(&self, stored: &StoredEvent, context: &mut EventContext) {
        let event = &stored.event;
        let object = &event.regarding;
        let namespace = if object.namespace.is_empty() {
            event.namespace.as_str()
        } else {
            object.namespace.as_str()
        };
        let wants_logs = self.config.logs.enabled && object.kind == "Pod";
        if !self.config.spec && !wants_logs {
            return;
        }
        if object.name.is_empty() || object.kind.is_empty() {
            context.fail("spec", "the event names no object");
            return;
        }
        let fetched = self.fetch(object, namespace).await;
        let object_json = match fetched {
            Ok(v) => Some(v),
            Err(e) => {
                if self.config.spec {
                    context.fail("spec", &e);
                }
                if wants_logs {
                    context.fail("logs", format!("no pod to read logs of: {e}"));
                }
                None
            }
        };
        let Some(object_json) = object_json else {
            return;
        };
        if wants_logs {
            let crashed = matches!(event.reason.as_str(), "BackOff" | "CrashLoopBackOff");
            self.logs(&object_json, object, namespace, crashed, context)
                .await;
        }
        if self.config.spec {
            let stripped = strip_secrets(object_json);
            let size = serde_json::to_vec(&stripped).map_or(usize::MAX, |b| b.len());
            if size > self.config.spec_max_bytes {
                context.fail(
                    "spec",
                    format!(
                        "{} {} is {size} bytes as JSON, over spec_max_bytes ({})",
                        object.kind, object.name, self.config.spec_max_bytes
                    ),
                );
            } else {
                context.spec = Some(stripped);
            }
        }
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Kinds that events commonly name, so that no discovery request is needed for them.
fn known_kind(api_version: &str, kind: &str) -> Option<(ApiResource, Scope)> {
    let (group, version) = split_api_version(api_version);
    let (plural, scope) = match (group, kind) {
        ("", "Pod") => ("pods", Scope::Namespaced),
        ("", "Node") => ("nodes", Scope::Cluster),
        ("", "Service") => ("services", Scope::Namespaced),
        ("", "Secret") => ("secrets", Scope::Namespaced),
        ("", "ConfigMap") => ("configmaps", Scope::Namespaced),
        ("", "PersistentVolumeClaim") => ("persistentvolumeclaims", Scope::Namespaced),
        ("", "PersistentVolume") => ("persistentvolumes", Scope::Cluster),
        ("", "Namespace") => ("namespaces", Scope::Cluster),
        ("", "ServiceAccount") => ("serviceaccounts", Scope::Namespaced),
        ("apps", "Deployment") => ("deployments", Scope::Namespaced),
        ("apps", "ReplicaSet") => ("replicasets", Scope::Namespaced),
        ("apps", "StatefulSet") => ("statefulsets", Scope::Namespaced),
        ("apps", "DaemonSet") => ("daemonsets", Scope::Namespaced),
        ("batch", "Job") => ("jobs", Scope::Namespaced),
        ("batch", "CronJob") => ("cronjobs", Scope::Namespaced),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            ("horizontalpodautoscalers", Scope::Namespaced)
        }
        _ => return None,
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Some((ApiResource::from_gvk_with_plural(&gvk, plural), scope))
}

/// Names of a pod's init and app containers, in that order.
fn container_names(pod: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|list| pod.pointer(&format!("/spec/{list}"))?.as_array())
        .flatten()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// `(container, restartCount)` from a pod's status.
fn restart_counts(pod: &Value) -> Vec<(String, u64)> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|list| pod.pointer(&format!("/status/{list}"))?.as_array())
        .flatten()
        .filter_map(|s| {
            Some((
                s.get("name")?.as_str()?.to_owned(),
                s.get("restartCount")?.as_u64()?,
            ))
        })
        .collect()
}

/// Environment variable names whose literal values are taken for secrets.
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
];

/// The object with secret values removed:
/// - a Secret's `data` and `stringData` (service-account tokens included);
/// - `metadata.managedFields` and the `kubectl.kubernetes.io/last-applied-configuration`
///   annotation, which repeat the object (a Secret's data too);
/// - in every pod template (`spec`, `spec.template.spec`,
///   `spec.jobTemplate.spec.template.spec`), the literal `value` of environment
///   variables whose name looks secret (`…PASSWORD…`, `…TOKEN…`, …); references
///   (`valueFrom.secretKeyRef`) are kept, they carry no value.
///
/// ```
/// use serde_json::json;
/// let secret = json!({"kind": "Secret", "type": "kubernetes.io/service-account-token",
///     "metadata": {"name": "t"}, "data": {"token": "ZXlK"}});
/// let stripped = kev_kube_source::enrich::strip_secrets(secret);
/// assert!(stripped.get("data").is_none());
/// ```
pub fn strip_secrets(mut object: Value) -> Value {
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    if map.get("kind").and_then(Value::as_str) == Some("Secret") {
        map.remove("data");
        map.remove("stringData");
    }
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    for path in [
        "/spec",
        "/spec/template/spec",
        "/spec/jobTemplate/spec/template/spec",
    ] {
        if let Some(pod_spec) = object.pointer_mut(path) {
            strip_pod_spec(pod_spec);
        }
    }
    object
}

fn strip_pod_spec(spec: &mut Value) {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers {
            let Some(env) = container.get_mut("env").and_then(Value::as_array_mut) else {
                continue;
            };
            for var in env {
                let secret_name = var
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase)
                    .is_some_and(|n| SECRET_NAME_PARTS.iter().any(|p| n.contains(p)));
                if secret_name && let Some(value) = var.get_mut("value") {
                    *value = Value::String(REDACTED.to_owned());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_env_values_in_templates_and_keeps_references() {
        let deployment = json!({
            "kind": "Deployment",
            "metadata": {"name": "api", "managedFields": [{}], "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "sre"}},
            "spec": {"template": {"spec": {"containers": [{"name": "api", "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "api_token", "value": "t0k"},
                {"name": "LOG_LEVEL", "value": "debug"},
                {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}}
            ]}]}}}
        });
        let s = strip_secrets(deployment);
        let env = &s["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], REDACTED);
        assert_eq!(env[1]["value"], REDACTED);
        assert_eq!(env[2]["value"], "debug");
        assert_eq!(env[3]["valueFrom"]["secretKeyRef"]["key"], "user");
        assert!(s["metadata"].get("managedFields").is_none());
        assert_eq!(s["metadata"]["annotations"], json!({"team": "sre"}));
    }

    #[test]
    fn strips_cronjob_templates_and_secret_data() {
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]}]}}}}}});
        let s = strip_secrets(cron);
        assert_eq!(
            s.pointer("/spec/jobTemplate/spec/template/spec/initContainers/0/env/0/value"),
            Some(&json!(REDACTED))
        );
        let secret = json!({"kind": "Secret", "data": {"a": "b"}, "stringData": {"c": "d"}, "type": "Opaque"});
        assert_eq!(
            strip_secrets(secret),
            json!({"kind": "Secret", "type": "Opaque"})
        );
    }

    #[test]
    fn known_kinds_and_containers() {
        let (r, scope) = known_kind("apps/v1", "Deployment").unwrap();
        assert_eq!(
            (r.plural.as_str(), r.group.as_str(), scope),
            ("deployments", "apps", Scope::Namespaced)
        );
        assert!(known_kind("example.com/v1", "Widget").is_none());
        let pod = json!({"spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"containerStatuses": [{"name": "a", "restartCount": 3}]}});
        assert_eq!(container_names(&pod), ["init", "a", "b"]);
        assert_eq!(restart_counts(&pod), [("a".to_owned(), 3)]);
    }
}
