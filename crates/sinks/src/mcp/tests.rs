//! The MCP sink against real local servers: an axum REST gateway and an MCP server
//! built with rmcp's server side, both on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kev_core::enrich::{ContainerLogs, EnrichFailure, EventContext};
use kev_core::{Event, EventType, MemoryStore, ObjectRef, Sink, Store, StoredEvent};
use serde_json::{Value, json};

use super::{
    McpSinkConfig, OUTCOME_NAMESPACE, OutcomeStatus, Protocol, RemediationMode, RemediationRecord,
    RiskLevel,
};

fn backoff_event(seq: u64, pod: &str) -> StoredEvent {
    StoredEvent {
        seq,
        event: Event {
            cluster: "prod-eu-1".into(),
            namespace: "shop".into(),
            name: format!("{pod}.17f3a"),
            uid: format!("uid-{seq}"),
            resource_version: format!("{}", 100 + seq),
            r#type: EventType::Warning,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container api in pod".into(),
            regarding: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: pod.into(),
                uid: "pod-uid".into(),
                field_path: "spec.containers{api}".into(),
            },
            reporting_controller: "kubelet".into(),
            count: 7,
            ..Default::default()
        },
    }
}

fn context() -> EventContext {
    EventContext {
        logs: vec![
            ContainerLogs {
                container: "api".into(),
                previous: false,
                text: "starting\n".into(),
                truncated: false,
            },
            ContainerLogs {
                container: "api".into(),
                previous: true,
                text: "panic: no DATABASE_URL\n".into(),
                truncated: true,
            },
        ],
        related_events: vec![Event {
            uid: "older".into(),
            reason: "Pulled".into(),
            ..Default::default()
        }],
        spec: Some(json!({"kind": "Pod", "spec": {"containers": [{"name": "api"}]}})),
        failures: vec![EnrichFailure {
            part: "related_events".into(),
            error: "partial".into(),
        }],
    }
}

/// What the gateway saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Value,
}

/// A scripted answer: status, content type, body.
type Reply = (StatusCode, &'static str, String);

/// A REST gateway that answers from a script (status, content type, body), then 200.
#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Vec<Reply>>>,
}

async fn gateway_handler(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    gw.seen.lock().unwrap().push(Seen { headers, body });
    let next = {
        let mut script = gw.script.lock().unwrap();
        (!script.is_empty()).then(|| script.remove(0))
    };
    let (status, content_type, body) = next.unwrap_or((
        StatusCode::OK,
        "application/json",
        success_body("req-default"),
    ));
    (status, [("content-type", content_type)], body)
}

fn success_body(request_id: &str) -> String {
    json!({
        "success": true,
        "data": {
            "result": {"status": "success", "summary": "Raised the memory limit of api to 512Mi", "executed": true},
            "tool": "remediate",
            "executionTime": 93_412
        },
        "meta": {"timestamp": "2026-01-01T10:00:00Z", "requestId": request_id, "version": "v1"}
    })
    .to_string()
}

async fn start_gateway(gw: Gateway) -> String {
    let app = Router::new()
        .route("/api/v1/tools/remediate", post(gateway_handler))
        .with_state(gw);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/api/v1/tools/remediate")
}

fn record(store: &MemoryStore, event: &StoredEvent) -> Option<RemediationRecord> {
    let key = event.event.idempotency_key().to_string();
    store
        .get_state(OUTCOME_NAMESPACE, &key)
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

fn token_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("token");
    std::fs::write(&path, "s3cr3t-token\n").unwrap();
    path
}

#[tokio::test]
async fn rest_payload_field_by_field_with_enrichment_and_record() {
    let gw = Gateway::default();
    let url = start_gateway(gw.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut config = McpSinkConfig::new(url);
    config.mode = RemediationMode::Automatic;
    config.confidence_threshold = 0.9;
    config.max_risk_level = RiskLevel::Medium;
    config.token_file = Some(token_file(&dir));
    let sink = config.build("crashloops", store.clone()).unwrap();
    let event = backoff_event(1, "api-5f6b8d9c47-qwxzr");
    let (events, contexts) = ([event.clone()], [context()]);
    sink.deliver(kev_core::Batch::enriched(&events, &contexts))
        .await
        .unwrap();

    let seen = gw.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let h = &seen[0].headers;
    assert_eq!(h["authorization"], "Bearer s3cr3t-token");
    assert_eq!(h["accept"], "application/json, text/event-stream");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["idempotency-key"], "uid-1/101");
    let body = seen[0].body.as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "confidenceThreshold",
            "context",
            "issue",
            "maxRiskLevel",
            "mode",
            "policy"
        ]
    );
    assert_eq!(
        body["issue"],
        "Pod api-5f6b8d9c47-qwxzr in namespace shop has a BackOff event: Back-off restarting failed container api in pod"
    );
    assert_eq!(body["mode"], "automatic");
    assert_eq!(body["confidenceThreshold"], 0.9);
    assert_eq!(body["maxRiskLevel"], "medium");
    assert_eq!(body["policy"], "crashloops");
    let ctx = body["context"].as_object().unwrap();
    let mut ctx_keys: Vec<&str> = ctx.keys().map(String::as_str).collect();
    ctx_keys.sort_unstable();
    assert_eq!(
        ctx_keys,
        ["event", "failures", "logs", "podSpec", "relatedEvents"]
    );
    assert_eq!(ctx["event"], serde_json::to_value(&event.event).unwrap());
    assert_eq!(
        ctx["event"]["regarding"]["fieldPath"],
        "spec.containers{api}"
    );
    assert_eq!(
        ctx["logs"],
        json!([
            {"container": "api", "previous": false, "text": "starting\n"},
            {"container": "api", "previous": true, "text": "panic: no DATABASE_URL\n", "truncated": true}
        ])
    );
    assert_eq!(ctx["podSpec"]["spec"]["containers"][0]["name"], "api");
    assert_eq!(ctx["relatedEvents"][0]["uid"], "older");
    assert_eq!(ctx["relatedEvents"][0]["reason"], "Pulled");
    assert_eq!(
        ctx["failures"],
        json!([{"part": "related_events", "error": "partial"}])
    );

    let rec = record(&store, &event).unwrap();
    assert_eq!(rec.status, OutcomeStatus::Success);
    assert_eq!(
        rec.summary.as_deref(),
        Some("Raised the memory limit of api to 512Mi")
    );
    assert_eq!(rec.request_id.as_deref(), Some("req-default"));
    assert_eq!(rec.tool.as_deref(), Some("remediate"));
    assert_eq!(rec.execution_time, Some(json!(93_412)));
    assert_eq!(rec.route, "crashloops");
    assert_eq!(rec.protocol, "rest");
    assert_eq!(rec.seq, 1);
    assert_eq!(rec.event.reason, "BackOff");
    assert_eq!(rec.event.uid, "uid-1");
}

#[tokio::test]
async fn rest_manual_mode_and_context_off() {
    let gw = Gateway::default();
    let url = start_gateway(gw.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let mut config = McpSinkConfig::new(url.clone());
    config.include_context = false;
    let sink = config.build("r", store.clone()).unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap();
    // Context on, without an enricher: the event alone, empty parts, the set policy.
    let mut config = McpSinkConfig::new(url);
    config.policy = Some("crash-policy".into());
    let sink = config.build("r", store).unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(2, "web-0")]))
        .await
        .unwrap();

    let seen = gw.seen.lock().unwrap().clone();
    let first = seen[0].body.as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["issue", "mode"]);
    assert_eq!(first["mode"], "manual");
    assert!(!seen[0].headers.contains_key("authorization"));
    let second = &seen[1].body;
    assert_eq!(second["policy"], "crash-policy");
    assert_eq!(second["context"]["logs"], json!([]));
    assert_eq!(second["context"]["relatedEvents"], json!([]));
    assert!(second["context"].get("podSpec").is_none());
    assert!(second["context"].get("failures").is_none());
    assert!(second.get("confidenceThreshold").is_none());
}

#[tokio::test]
async fn rest_answers_classified_and_recorded() {
    let gw = Gateway::default();
    let failed = json!({
        "success": false,
        "error": {"code": "REMEDIATION_FAILED", "message": "could not find the deployment", "details": {"step": 2}},
        "meta": {"requestId": "req-failed"}
    })
    .to_string();
    let sse = format!(
        "event: progress\ndata: {{\"step\": 1}}\n\ndata: {}\n\n",
        success_body("req-sse")
    );
    let refused = json!({"success": false, "error": {"code": "INVALID_INPUT", "message": "issue is required"}, "meta": {"requestId": "req-400"}}).to_string();
    *gw.script.lock().unwrap() = vec![
        (StatusCode::OK, "application/json", failed),
        (StatusCode::OK, "text/event-stream", sse),
        (StatusCode::OK, "application/json", success_body("req-3")),
        (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "busy".into()),
        (StatusCode::BAD_REQUEST, "application/json", refused),
    ];
    let url = start_gateway(gw.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = McpSinkConfig::new(url).build("r", store.clone()).unwrap();
    let events: Vec<StoredEvent> = (1..=4).map(|i| backoff_event(i, "web-0")).collect();

    // A failed remediation is an answer: recorded, acknowledged.
    sink.deliver(kev_core::Batch::new(&events[..1]))
        .await
        .unwrap();
    let rec = record(&store, &events[0]).unwrap();
    assert_eq!(rec.status, OutcomeStatus::Failed);
    assert_eq!(
        rec.error.as_deref(),
        Some("REMEDIATION_FAILED: could not find the deployment ({\"step\":2})")
    );
    assert_eq!(rec.request_id.as_deref(), Some("req-failed"));

    // An event-stream answer: the last event is the result.
    sink.deliver(kev_core::Batch::new(&events[1..2]))
        .await
        .unwrap();
    assert_eq!(
        record(&store, &events[1]).unwrap().request_id.as_deref(),
        Some("req-sse")
    );

    // 503: retryable, nothing recorded; the events before it are reported delivered.
    let err = sink
        .deliver(kev_core::Batch::new(&events[2..4]))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.delivered, 1);
    assert_eq!(
        record(&store, &events[2]).unwrap().request_id.as_deref(),
        Some("req-3")
    );
    assert!(record(&store, &events[3]).is_none());

    // 400: permanent, recorded as rejected with the API's error.
    let err = sink
        .deliver(kev_core::Batch::new(&events[3..4]))
        .await
        .unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.contains("INVALID_INPUT: issue is required"),
        "{err}"
    );
    let rec = record(&store, &events[3]).unwrap();
    assert_eq!(rec.status, OutcomeStatus::Rejected);
    assert_eq!(rec.request_id.as_deref(), Some("req-400"));
}

#[tokio::test]
async fn rest_unreachable_and_slow_are_retryable() {
    // A port with nothing behind it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let store = Arc::new(MemoryStore::new());
    let sink = McpSinkConfig::new(format!("http://{addr}/api/v1/tools/remediate"))
        .build("r", store.clone())
        .unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");

    // A gateway slower than the timeout.
    let app = Router::new().route(
        "/slow",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = McpSinkConfig::new(format!("http://{addr}/slow"));
    config.timeout = Duration::from_millis(200);
    let sink = config.build("r", store).unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap_err();
    assert!(err.retryable);
    assert!(err.message.contains("no answer within"), "{err}");
}

#[test]
fn config_errors_name_the_field() {
    let c: Result<McpSinkConfig, _> = serde_norway::from_str("endpoint: http://x/\ntoken: abc\n");
    assert_eq!(
        c.unwrap().validate().unwrap_err().to_string(),
        "token: a token is not accepted in the config file: use token_file or token_env"
    );
    let c: McpSinkConfig = serde_norway::from_str("endpoint: ftp://x/\n").unwrap();
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .starts_with("endpoint: scheme")
    );
    let c: Result<McpSinkConfig, _> = serde_norway::from_str("endpoint: http://x/\nmode: yolo\n");
    assert!(
        c.unwrap_err()
            .to_string()
            .contains("unknown variant `yolo`")
    );
    let c: McpSinkConfig =
        serde_norway::from_str("endpoint: http://x/\ntoken_file: /nonexistent/kev-token\n")
            .unwrap();
    let err = c.build("r", Arc::new(MemoryStore::new())).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("token_file: cannot read /nonexistent/kev-token")
    );
    let c: McpSinkConfig =
        serde_norway::from_str("protocol: mcp\nendpoint: http://x/mcp\n").unwrap();
    assert_eq!(c.protocol, Protocol::Mcp);
    assert_eq!(c.tool, "remediate");
    assert_eq!(c.timeout, Duration::from_secs(900));
}

mod conformance;
mod mcp_server;

#[tokio::test]
async fn a_bearer_token_given_by_the_caller_is_sent_and_never_printed() {
    let gw = Gateway::default();
    let url = start_gateway(gw.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let config = McpSinkConfig::new(url).bearer_token("from-a-secret");
    let sink = config.build("crashloops", store).unwrap();
    let (events, contexts) = ([backoff_event(1, "api-5f6b8d9c47-qwxzr")], [context()]);
    sink.deliver(kev_core::Batch::enriched(&events, &contexts))
        .await
        .unwrap();
    let seen = gw.seen.lock().unwrap().clone();
    assert_eq!(seen[0].headers["authorization"], "Bearer from-a-secret");
    assert!(!format!("{config:?}").contains("from-a-secret"));
}
