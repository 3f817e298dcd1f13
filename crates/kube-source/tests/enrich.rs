//! The Kubernetes enricher against a local HTTP server that answers the object, log and
//! discovery endpoints the way the API server does.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kev_core::enrich::{EnrichConfig, Enricher, EventContext};
use kev_core::{Event, ObjectRef, StoredEvent};
use kev_kube_source::enrich::{KubeEnricher, REDACTED};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Api {
    /// Query strings of the log requests, in order.
    log_queries: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-1", "namespace": "shop", "uid": "pod-uid", "resourceVersion": "77",
            "managedFields": [{"manager": "kubectl"}]},
        "spec": {
            "initContainers": [{"name": "migrate", "image": "migrate:1"}],
            "containers": [
                {"name": "api", "image": "api:2", "env": [
                    {"name": "DB_PASSWORD", "value": "hunter2"},
                    {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
                    {"name": "PORT", "value": "8080"}]},
                {"name": "sidecar", "image": "proxy:1"}
            ]
        },
        "status": {"containerStatuses": [
            {"name": "api", "restartCount": 4, "ready": false},
            {"name": "sidecar", "restartCount": 0, "ready": true}]}
    })
}

async fn get_pod(Path((ns, name)): Path<(String, String)>) -> Response {
    if ns == "shop" && name == "api-1" {
        axum::Json(pod()).into_response()
    } else {
        status(404, "NotFound", &format!("pods \"{name}\" not found"))
    }
}

async fn get_log(
    State(api): State<Api>,
    Path((_ns, _name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    api.log_queries.lock().unwrap().push(q.clone());
    let container = q.get("container").cloned().unwrap_or_default();
    if container == "sidecar" {
        return status(
            400,
            "BadRequest",
            "container \"sidecar\" in pod \"api-1\" is waiting to start",
        );
    }
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let lines: Vec<String> = (1..=300)
        .map(|i| {
            format!(
                "{container}{} line {i}",
                if previous { " (crashed)" } else { "" }
            )
        })
        .collect();
    let tail: usize = q
        .get("tailLines")
        .and_then(|t| t.parse().ok())
        .unwrap_or(lines.len());
    let mut text = lines[lines.len() - tail.min(lines.len())..].join("\n");
    text.push('\n');
    text.into_response()
}

async fn discovery() -> Response {
    axum::Json(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "example.com/v1",
        "resources": [{"name": "widgets", "singularName": "widget", "namespaced": true, "kind": "Widget",
            "verbs": ["get", "list", "watch"]}]}))
    .into_response()
}

async fn get_widget(Path((_ns, name)): Path<(String, String)>) -> Response {
    axum::Json(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name, "namespace": "shop"}, "spec": {"size": 3}}))
    .into_response()
}

async fn get_secret(Path((_ns, name)): Path<(String, String)>) -> Response {
    axum::Json(
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": name, "namespace": "shop", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"ZXlK\"}}"}},
        "data": {"token": "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjk=", "ca.crt": "LS0t"}}),
    )
    .into_response()
}

async fn start() -> (kube::Client, Api) {
    let api = Api::default();
    let app = Router::new()
        .route("/api/v1/namespaces/{ns}/pods/{name}", get(get_pod))
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(get_log))
        .route("/api/v1/namespaces/{ns}/secrets/{name}", get(get_secret))
        .route("/apis/example.com/v1", get(discovery))
        .route(
            "/apis/example.com/v1/namespaces/{ns}/widgets/{name}",
            get(get_widget),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    (kube::Client::try_from(config).unwrap(), api)
}

fn event(api_version: &str, kind: &str, name: &str, reason: &str) -> StoredEvent {
    StoredEvent {
        seq: 1,
        event: Event {
            namespace: "shop".into(),
            uid: "e1".into(),
            resource_version: "1".into(),
            reason: reason.into(),
            regarding: ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: "shop".into(),
                name: name.into(),
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn backoff_pod_gets_logs_previous_logs_and_stripped_spec() {
    let (client, api) = start().await;
    let mut config = EnrichConfig::default();
    config.logs.lines = 5;
    config.logs.bytes = 60;
    let enricher = KubeEnricher::new(client, config);
    let mut context = EventContext::default();
    enricher
        .enrich(&event("v1", "Pod", "api-1", "BackOff"), &mut context)
        .await;

    // Init container, app container, its previous instance (it restarted); the sidecar
    // failed and is reported.
    let got: Vec<(&str, bool)> = context
        .logs
        .iter()
        .map(|l| (l.container.as_str(), l.previous))
        .collect();
    assert_eq!(got, [("migrate", false), ("api", false), ("api", true)]);
    let crashed = &context.logs[2];
    assert!(
        crashed.text.ends_with("api (crashed) line 300\n"),
        "{:?}",
        crashed.text
    );
    assert!(crashed.text.len() <= 60);
    assert!(crashed.truncated);
    assert!(crashed.text.starts_with("api (crashed) line"));
    assert_eq!(context.failures.len(), 1, "{:?}", context.failures);
    assert_eq!(context.failures[0].part, "logs");
    assert!(context.failures[0].error.contains("container sidecar"));
    assert!(context.failures[0].error.contains("waiting to start"));

    let queries = api.log_queries.lock().unwrap().clone();
    assert_eq!(queries[0]["tailLines"], "5");
    assert_eq!(queries[0]["container"], "migrate");
    assert!(
        queries
            .iter()
            .any(|q| q["container"] == "api"
                && q.get("previous").map(String::as_str) == Some("true"))
    );
    assert!(
        !queries
            .iter()
            .any(|q| q["container"] == "sidecar" && q.contains_key("previous"))
    );

    let spec = context.spec.unwrap();
    let env = &spec["spec"]["containers"][0]["env"];
    assert_eq!(env[0], json!({"name": "DB_PASSWORD", "value": REDACTED}));
    assert_eq!(
        env[1]["valueFrom"]["secretKeyRef"],
        json!({"name": "db", "key": "url"})
    );
    assert_eq!(env[2]["value"], "8080");
    assert!(spec["metadata"].get("managedFields").is_none());
    assert_eq!(spec["status"]["containerStatuses"][0]["restartCount"], 4);
}

#[tokio::test]
async fn other_reasons_get_no_previous_logs_and_parts_can_be_off() {
    let (client, api) = start().await;
    let config = EnrichConfig {
        spec: false,
        ..Default::default()
    };
    let enricher = KubeEnricher::new(client, config);
    let mut context = EventContext::default();
    enricher
        .enrich(&event("v1", "Pod", "api-1", "Unhealthy"), &mut context)
        .await;
    assert!(context.logs.iter().all(|l| !l.previous));
    assert_eq!(context.logs.len(), 2);
    assert!(context.spec.is_none());
    assert!(
        api.log_queries
            .lock()
            .unwrap()
            .iter()
            .all(|q| !q.contains_key("previous"))
    );

    let mut config = EnrichConfig::default();
    config.logs.enabled = false;
    config.spec = false;
    let (client, api) = start().await;
    let mut context = EventContext::default();
    KubeEnricher::new(client, config)
        .enrich(&event("v1", "Pod", "api-1", "BackOff"), &mut context)
        .await;
    assert_eq!(context, EventContext::default());
    assert!(api.log_queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn missing_objects_are_reported_not_fatal() {
    let (client, _api) = start().await;
    let enricher = KubeEnricher::new(client, EnrichConfig::default());
    let mut context = EventContext::default();
    enricher
        .enrich(&event("v1", "Pod", "gone-1", "BackOff"), &mut context)
        .await;
    let parts: Vec<&str> = context.failures.iter().map(|f| f.part.as_str()).collect();
    assert_eq!(parts, ["spec", "logs"]);
    assert!(
        context.failures[0]
            .error
            .contains("pods \"gone-1\" not found"),
        "{:?}",
        context.failures
    );
    assert!(context.logs.is_empty() && context.spec.is_none());
}

#[tokio::test]
async fn secrets_lose_their_data_and_unknown_kinds_are_discovered() {
    let (client, _api) = start().await;
    let enricher = KubeEnricher::new(client, EnrichConfig::default());
    let mut context = EventContext::default();
    enricher
        .enrich(&event("v1", "Secret", "sa-token", "Failed"), &mut context)
        .await;
    let spec = context.spec.unwrap();
    assert!(spec.get("data").is_none());
    assert!(!spec.to_string().contains("ZXlK"), "{spec}");
    assert_eq!(spec["type"], "kubernetes.io/service-account-token");

    let mut context = EventContext::default();
    enricher
        .enrich(
            &event("example.com/v1", "Widget", "w1", "Degraded"),
            &mut context,
        )
        .await;
    assert!(context.failures.is_empty(), "{:?}", context.failures);
    assert_eq!(context.spec.unwrap()["spec"]["size"], 3);

    let small = EnrichConfig {
        spec_max_bytes: 50,
        ..Default::default()
    };
    let (client, _api) = start().await;
    let mut context = EventContext::default();
    KubeEnricher::new(client, small)
        .enrich(
            &event("example.com/v1", "Widget", "w1", "Degraded"),
            &mut context,
        )
        .await;
    assert!(context.spec.is_none());
    assert!(
        context.failures[0]
            .error
            .contains("over spec_max_bytes (50)")
    );
}
