//! `cargo xtask e2e`'s scenario without images or a cluster: the real `kev` binary with
//! a config file (kube source, redb store, an enriched webhook route and an enriched REST route)
//! against the fake API server, which also serves the pods and their logs. A crash-looping
//! pod's BackOff events and an unschedulable pod's FailedScheduling event reach the
//! webhook, both routes carry the crashing container's log with its password redacted
//! (`normalize.redact` applies to gathered context too), `kev query` (a
//! second process, through the daemon's read API since redb is locked) lists them, and
//! `kev_events_received_total` / `kev_events_stored_total` rise between two scrapes.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use kev_tests::daemon::{Kev, eventually, write_kubeconfig};
use kev_tests::fake_api::core_event;
use kev_tests::harness::fast_server;
use serde_json::{Value, json};

const NS: &str = "kev-e2e";
const SLACK: Duration = Duration::from_secs(30);

type Bodies = Arc<Mutex<Vec<(String, Value)>>>;

/// One HTTP receiver: `/hook` (the webhook) and `/remediate` (the REST tool), bodies kept
/// by path.
async fn receiver() -> (String, Bodies) {
    let got: Bodies = Arc::default();
    let record = |path: &'static str| {
        move |State(got): State<Bodies>, body: String| async move {
            let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
            got.lock().unwrap().push((path.to_owned(), value));
            axum::Json(json!({"success": true,
                "data": {"result": {"summary": "looked at it"}, "tool": "remediate", "executionTime": 5},
                "meta": {"requestId": "req-1"}}))
        }
    };
    let app = Router::new()
        .route("/hook", post(record("hook")))
        .route("/remediate", post(record("remediate")))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, got)
}

fn pod(name: &str, restarts: u32) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": {"containerStatuses": [{"name": "app", "restartCount": restarts}]}})
}

fn warning(name: &str, reason: &str, pod: &str, message: &str) -> Value {
    let mut e = core_event(NS, name, reason);
    e["type"] = json!("Warning");
    e["message"] = json!(message);
    e["involvedObject"]["name"] = json!(pod);
    e
}

fn received_reasons(got: &Bodies, path: &str) -> Vec<String> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == path)
        .filter_map(|(_, b)| b["reason"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_and_unschedulable_events_reach_the_webhook_query_and_metrics() {
    let server = fast_server().await;
    server
        .pods()
        .pod(pod("crashloop-7d9f", 3))
        .pod(pod("unschedulable-5c2b", 0))
        .log(NS, "crashloop-7d9f", "app", false, "starting\n")
        .log(
            NS,
            "crashloop-7d9f",
            "app",
            true,
            "starting\ncrashing on purpose\npanic: cannot connect to db with password=hunter2\n",
        );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let (base, got) = receiver().await;
    let config = format!(
        r#"cluster: fake
source: {{type: kube, kubeconfig: "{kubeconfig}", backoff_initial: 20ms, backoff_max: 200ms, stall_timeout: 3s}}
store: {{type: redb, path: "{store}"}}
routes:
  - name: warnings-to-hook
    match: [{{type: Warning, namespace: {NS}}}]
    enrich:
      logs: {{lines: 20}}
    sinks: [{{type: webhook, url: "{base}/hook"}}]
  - name: remediate
    match: [{{type: Warning, reason: BackOff}}]
    enrich:
      logs: {{lines: 20}}
      related_events: {{lookback: 10m}}
    batch: {{max_events: 1}}
    sinks: [{{type: mcp, protocol: rest, endpoint: "{base}/remediate"}}]
"#,
        kubeconfig = kubeconfig.display(),
        store = dir.path().join("store").display(),
    );
    let mut kev = Kev::start(dir.path(), "kev", &config, &[]);
    kev.wait_ready("ready", SLACK).await;
    let before = kev.metrics().await;
    let received_before = before.sum("kev_events_received_total", &[]);
    let stored_before = before.sum("kev_events_stored_total", &[]);

    server
        .create(
            NS,
            warning(
                "crashloop-7d9f.1",
                "BackOff",
                "crashloop-7d9f",
                "Back-off restarting failed container app in pod crashloop-7d9f",
            ),
        )
        .unwrap();
    server
        .create(
            NS,
            warning(
                "unschedulable-5c2b.1",
                "FailedScheduling",
                "unschedulable-5c2b",
                "0/1 nodes are available: 1 Insufficient cpu.",
            ),
        )
        .unwrap();
    // The kubelet repeats the back-off: the same Event, count 2.
    server
        .patch(NS, "crashloop-7d9f.1", &json!({"count": 2}))
        .unwrap();

    eventually(
        "BackOff and FailedScheduling at the webhook",
        SLACK,
        || async {
            let reasons = received_reasons(&got, "hook");
            (reasons.iter().filter(|r| *r == "BackOff").count() >= 2
                && reasons.iter().any(|r| r == "FailedScheduling"))
            .then_some(())
        },
    )
    .await;

    let hooked = got
        .lock()
        .unwrap()
        .iter()
        .find(|(p, b)| p == "hook" && b["reason"] == "BackOff")
        .map(|(_, b)| b.clone())
        .unwrap();
    assert!(
        hooked["context"]["logs"]
            .to_string()
            .contains("crashing on purpose"),
        "the webhook gets the gathered log as the event's context: {hooked:#}"
    );

    let hooked_backoffs: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, b)| p == "hook" && b["reason"] == "BackOff")
        .map(|(_, b)| b.clone())
        .collect();
    for body in &hooked_backoffs {
        let logs = body["context"]["logs"].to_string();
        assert!(
            !body.to_string().contains("hunter2") && logs.contains("password=[REDACTED]"),
            "the webhook never sees the password of the log: {body:#}"
        );
    }
    let enriched = eventually("the enriched BackOff at the REST tool", SLACK, || async {
        got.lock()
            .unwrap()
            .iter()
            .find(|(p, _)| p == "remediate")
            .map(|(_, b)| b.clone())
    })
    .await;
    let logs = enriched["context"]["logs"].to_string();
    assert!(
        logs.contains("crashing on purpose"),
        "the previous container's log gathered from the fake API server: {enriched:#}"
    );
    assert!(
        !enriched.to_string().contains("hunter2") && logs.contains("password=[REDACTED]"),
        "the MCP peer never sees the password of the log: {enriched:#}"
    );
    assert!(
        enriched.to_string().contains("crashloop-7d9f"),
        "{enriched:#}"
    );

    // `kev query` is a second process: redb is locked, so it asks the daemon's API.
    let listed = eventually("the events in kev query", SLACK, || async {
        let out = kev.command(&["query", "-o", "json", "--limit", "0"]).await;
        let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let has = |reason: &str, prefix: &str| {
            events.iter().any(|e| {
                e["reason"] == reason
                    && e["namespace"] == NS
                    && e["regarding"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(prefix))
            })
        };
        (has("BackOff", "crashloop") && has("FailedScheduling", "unschedulable")).then_some(events)
    })
    .await;
    assert!(listed.iter().all(|e| e["cluster"] == "fake"), "{listed:?}");

    let after = kev.metrics().await;
    assert!(
        after.sum("kev_events_received_total", &[]) >= received_before + 3.0,
        "received: {received_before} → {}",
        after.sum("kev_events_received_total", &[])
    );
    assert!(after.sum("kev_events_stored_total", &[]) >= stored_before + 3.0);
    assert!(after.has("kev_sink_latency_seconds_bucket") || after.has("kev_sink_latency_seconds"));

    kev.terminate();
    let status = kev.wait_exit(SLACK).await;
    assert!(status.success(), "{status}\n{}", kev.log());
}
