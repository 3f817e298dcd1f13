//! A remediation route end to end: events stored, gated by occurrences per workload,
//! enriched with related events from the store and the pod's spec and logs from an API
//! server, sent to a REST remediation gateway; the payload asserted field by field and
//! the outcome read back from the store.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use kev_core::testkit::pipeline::{EventsSource, PassThrough};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use jiff::Timestamp;
use kev_core::enrich::{EnrichConfig, Enrichers, RelatedEventsEnricher};
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, Route};
use kev_core::remediation::{RemediationConfig, RemediationGate};
use kev_core::{Event, EventType, ManualClock, MemoryStore, ObjectRef, Store};
use kev_kube_source::enrich::{KubeEnricher, REDACTED};
use kev_sinks::mcp::{McpSinkConfig, OUTCOME_NAMESPACE, OutcomeStatus, RemediationRecord};
use kev_tests::pod_api::PodApi;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_767_225_600;

fn event(uid: &str, pod: &str, reason: &str, at: i64) -> Event {
    Event {
        cluster: "prod".into(),
        namespace: "shop".into(),
        name: format!("{pod}.{uid}"),
        uid: uid.into(),
        resource_version: "1".into(),
        r#type: EventType::Warning,
        reason: reason.into(),
        message: format!("{reason} for {pod}"),
        regarding: ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: pod.into(),
            uid: format!("uid-{pod}"),
            ..Default::default()
        },
        count: 1,
        last_seen: Some(Timestamp::from_second(T0 + at).unwrap()),
        ..Default::default()
    }
}

fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5f6b8d9c47", "uid": "rs"}]},
        "spec": {"containers": [{"name": "api", "image": "api:2", "env": [
            {"name": "STRIPE_API_KEY", "value": "sk_live_123"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]},
        "status": {"containerStatuses": [{"name": "api", "restartCount": 6}]}
    })
}

#[derive(Clone, Default)]
struct Gateway(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

async fn remediate(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    body: String,
) -> axum::Json<Value> {
    let n = {
        let mut seen = gw.0.lock().unwrap();
        seen.push((headers, serde_json::from_str(&body).unwrap()));
        seen.len()
    };
    axum::Json(json!({"success": true,
        "data": {"result": {"summary": "rolled back api to revision 7"}, "tool": "remediate", "executionTime": 61_000},
        "meta": {"requestId": format!("req-{n}")}}))
}

#[tokio::test]
async fn gated_enriched_remediation_end_to_end() {
    // The API server side: two pods of one ReplicaSet, logs of the crashed container.
    let api = PodApi::new();
    for name in ["api-5f6b8d9c47-qwxzr", "api-5f6b8d9c47-zzt2k"] {
        api.pod(pod(name));
    }
    api.log("shop", "api-5f6b8d9c47-zzt2k", "api", false, "booting\n")
        .log(
            "shop",
            "api-5f6b8d9c47-zzt2k",
            "api",
            true,
            &(1..=50)
                .map(|i| format!("crash line {i}\n"))
                .collect::<String>(),
        );
    let api_addr = api.start().await.unwrap();
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{api_addr}").parse().unwrap(),
    ))
    .unwrap();

    // The remediation gateway.
    let gw = Gateway::default();
    let app = Router::new()
        .route("/api/v1/tools/remediate", post(remediate))
        .with_state(gw.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let store = Arc::new(MemoryStore::new());
    let store_dyn: Arc<dyn Store> = store.clone();
    let mut enrich = EnrichConfig::default();
    enrich.logs.lines = 3;
    let enricher = Enrichers(vec![
        Arc::new(RelatedEventsEnricher::new(
            store_dyn.clone(),
            enrich.related_events.clone(),
        )),
        Arc::new(KubeEnricher::new(client, enrich)),
    ]);
    let clock = Arc::new(ManualClock::new());
    clock.advance(Duration::from_secs(T0 as u64));
    let gate = RemediationGate::new(
        "crashloops",
        RemediationConfig {
            min_occurrences: 3,
            ..Default::default()
        },
    )
    .with_clock(clock);
    let sink = McpSinkConfig::new(format!("http://{gw_addr}/api/v1/tools/remediate"))
        .build("crashloops", store_dyn.clone())
        .unwrap();
    let route = Route::new("crashloops", Arc::new(KeepAll))
        .remediation(gate)
        .enricher(Arc::new(enricher))
        .sink(Arc::new(sink));

    // Three BackOffs across two pods of the workload: the third fires, once.
    let events = vec![
        event("e1", "api-5f6b8d9c47-zzt2k", "Pulled", 0),
        event("e2", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
        event("e3", "api-5f6b8d9c47-zzt2k", "BackOff", 2),
        event("e4", "api-5f6b8d9c47-zzt2k", "BackOff", 3),
        event("e5", "api-5f6b8d9c47-qwxzr", "BackOff", 4),
    ];
    let report = Pipeline::new(
        Box::new(EventsSource::new(events)),
        Arc::new(PassThrough),
        store_dyn,
    )
    .route(route)
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(report.routes[0].delivered, 1);
    assert_eq!(report.routes[0].gated, 4);

    let seen = gw.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    assert_eq!(headers["accept"], "application/json, text/event-stream");
    assert_eq!(headers["idempotency-key"], "e4/1");
    assert_eq!(
        body["issue"],
        "Pod api-5f6b8d9c47-zzt2k in namespace shop has a BackOff event: BackOff for api-5f6b8d9c47-zzt2k"
    );
    assert_eq!(body["mode"], "manual");
    assert_eq!(body["policy"], "crashloops");
    assert!(body.get("confidenceThreshold").is_none());
    let ctx = &body["context"];
    assert_eq!(ctx["event"]["uid"], "e4");
    // Related events of the same pod from the store, newest first, not the event itself.
    let related: Vec<&str> = ctx["relatedEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    assert_eq!(related, ["e3", "e1"]);
    // Logs: current and previous instance (BackOff), tailLines honoured.
    assert_eq!(
        ctx["logs"],
        json!([
            {"container": "api", "previous": false, "text": "booting\n"},
            {"container": "api", "previous": true, "text": "crash line 48\ncrash line 49\ncrash line 50\n"}
        ])
    );
    let requests = api.log_requests.lock().unwrap().clone();
    assert!(requests.iter().all(|q| q["tailLines"] == "3"));
    // The spec, with the literal secret gone and the reference kept.
    let env = &ctx["podSpec"]["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["value"], REDACTED);
    assert_eq!(env[1]["valueFrom"]["secretKeyRef"]["key"], "password");
    assert!(!body.to_string().contains("sk_live_123"));
    assert!(ctx.get("failures").is_none(), "{}", ctx["failures"]);

    let key = "e4/1";
    let record: RemediationRecord =
        serde_json::from_slice(&store.get_state(OUTCOME_NAMESPACE, key).unwrap().unwrap()).unwrap();
    assert_eq!(record.status, OutcomeStatus::Success);
    assert_eq!(
        record.summary.as_deref(),
        Some("rolled back api to revision 7")
    );
    assert_eq!(record.request_id.as_deref(), Some("req-1"));
    assert_eq!(record.event.name, "api-5f6b8d9c47-zzt2k");
}
