//! At-least-once delivery across `kill -9`: `kev run` with a redb store delivers a replay
//! to a local webhook, is killed mid-delivery, restarts, and finishes. Every event
//! arrives; repeats carry the same Idempotency-Key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

const EVENTS: usize = 3000;

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Records (Idempotency-Key header, uid/resourceVersion of the body) per request.
async fn receive(State(got): State<Received>, headers: HeaderMap, body: String) -> StatusCode {
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body_key = format!(
        "{}/{}",
        event["uid"].as_str().unwrap(),
        event["resourceVersion"].as_str().unwrap()
    );
    got.lock().unwrap().push((key, body_key));
    tokio::time::sleep(Duration::from_micros(300)).await;
    StatusCode::NO_CONTENT
}

fn write_events(path: &std::path::Path) {
    let mut file = std::fs::File::create(path).unwrap();
    for i in 0..EVENTS {
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("web-{i}.17a"), "namespace": "shop", "uid": format!("uid-{i}"), "resourceVersion": format!("{}", 1000 + i)},
            "involvedObject": {"kind": "Pod", "name": format!("web-{}", i % 40), "namespace": "shop"},
            "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container",
            "lastTimestamp": "2026-11-23T10:00:00Z", "count": 1
        });
        writeln!(file, "{event}").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_after_kill_9_and_repeats_keep_their_key() {
    let got: Received = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    write_events(&input);
    let config = dir.path().join("kev.yaml");
    std::fs::write(
        &config,
        format!(
            "source: {{type: replay, path: {input}}}\nstore: {{type: redb, path: {store}}}\nserver: {{enabled: false, api_listen: \"off\"}}\nroutes:\n  - name: hook\n    sinks: [{{type: webhook, url: \"http://{addr}/hook\"}}]\n",
            input = input.display(),
            store = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    let config = config.clone();
    let start = move || {
        Command::new(env!("CARGO_BIN_EXE_kev"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("KEV_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };

    let mut first = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().unwrap().len() < EVENTS / 4 {
        assert!(Instant::now() < deadline, "no delivery progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let before_restart = got.lock().unwrap().len();
    assert!(before_restart < EVENTS, "killed too late to test anything");

    let second = tokio::task::spawn_blocking(move || start().wait().unwrap())
        .await
        .unwrap();
    assert!(second.success());

    let got = got.lock().unwrap();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for (key, body_key) in got.iter() {
        assert_eq!(
            key, body_key,
            "the Idempotency-Key names the event it carries"
        );
        *times.entry(key.as_str()).or_default() += 1;
    }
    assert_eq!(times.len(), EVENTS, "every event delivered at least once");
    let repeats = got.len() - EVENTS;
    // Only what was in flight at the kill may come twice: the page being delivered and
    // the one whose cursor commit had not finished, two pages of ten batches of 100.
    const TWO_PAGES: usize = 2 * 10 * 100;
    assert!(repeats <= TWO_PAGES, "{repeats} repeats");
    // And the restart resumed from a committed cursor: every repeat is among the last
    // two pages the first run delivered, none from the start of the log.
    let first_run = &got[..before_restart];
    let recent: std::collections::HashSet<&str> = first_run
        [first_run.len().saturating_sub(TWO_PAGES)..]
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    for (key, n) in &times {
        assert!(
            *n == 1 || recent.contains(key),
            "{key} repeated but was not in flight at the kill"
        );
    }
}
