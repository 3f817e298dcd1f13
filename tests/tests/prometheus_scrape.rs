//! The card's "Prometheus scraping of event-volume metrics", end to end: a real
//! Prometheus scrapes two `kev run` processes, one replaying a known history (from a
//! FIFO, so that it keeps running while it is scraped) and one watching the fake API
//! server, and its `/api/v1/query` answers for `kev_events_total` and the state gauges
//! are those of what was replayed and created. Skipped with the reason when Prometheus
//! cannot be provisioned, unless `KEV_REQUIRE_PROMETHEUS=1` (CI).
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::io::Write;
use std::time::Duration;

use kev_tests::daemon::{Kev, eventually, write_kubeconfig};
use kev_tests::fake_api::core_event;
use kev_tests::harness::fast_server;
use kev_tests::prometheus::Prometheus;
use kev_tests::tools::prometheus_tools;
use serde_json::{Value, json};

const SLACK: Duration = Duration::from_secs(60);

/// One replayed core/v1 Event about pod `pod` at `T0 + secs`, first seen at `first`.
fn replayed(i: usize, reason: &str, pod: &str, first: u32, secs: u32) -> String {
    let at = |s: u32| format!("2026-01-01T00:{:02}:{:02}Z", s / 60, s % 60);
    let r#type = if matches!(reason, "Started" | "Pulled") {
        "Normal"
    } else {
        "Warning"
    };
    let e = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.{i}"), "namespace": "shop", "uid": format!("u{i}"), "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": pod},
        "reason": reason, "type": r#type, "message": format!("{reason} {pod}"),
        "firstTimestamp": at(first), "lastTimestamp": at(secs), "count": 1});
    format!("{e}\n")
}

/// 5 pods in BackOff (one recovers), 3 unschedulable, 2 routine pulls: 11 events.
fn history() -> String {
    let mut lines = String::new();
    let mut i = 0;
    let mut add = |reason: &str, pod: &str, first: u32, secs: u32| {
        i += 1;
        lines.push_str(&replayed(i, reason, pod, first, secs));
    };
    for p in 0..5 {
        add("BackOff", &format!("web-{p}"), 10 * p, 10 * p + 30);
    }
    add("Started", "web-4", 200, 200);
    for q in 0..3 {
        add("FailedScheduling", &format!("batch-{q}"), 100, 100);
    }
    add("Pulled", "api-0", 250, 250);
    add("Pulled", "api-1", 300, 300);
    lines
}

fn warning(name: &str, reason: &str, pod: &str) -> Value {
    let mut e = core_event("live", name, reason);
    e["type"] = json!("Warning");
    e["involvedObject"]["name"] = json!(pod);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_volume_and_state_gauges_of_replay_and_watch() {
    let Some(tools) = prometheus_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    let fifo = dir.path().join("events.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    let replay_config = format!(
        "source: {{type: replay, path: \"{}\"}}\nstore: {{type: memory}}\n\
         routes: [{{name: none, match: [{{reason: NeverSeen}}], sinks: [{{type: stdout}}]}}]\n",
        fifo.display()
    );
    let replay = Kev::start(dir.path(), "replay", &replay_config, &[]);
    // Opening blocks until kev opens the FIFO to read; the writer stays open (kev keeps
    // running) until the end of the test.
    let path = fifo.clone();
    let mut writer =
        tokio::task::spawn_blocking(move || std::fs::OpenOptions::new().write(true).open(path))
            .await
            .unwrap()
            .unwrap();
    writer.write_all(history().as_bytes()).unwrap();
    writer.flush().unwrap();

    let server = fast_server().await;
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let kube_config = format!(
        "source: {{type: kube, kubeconfig: \"{}\", backoff_initial: 20ms, backoff_max: 200ms}}\n\
         store: {{type: memory}}\n\
         routes: [{{name: none, match: [{{reason: NeverSeen}}], sinks: [{{type: stdout}}]}}]\n",
        kubeconfig.display()
    );
    let mut watch = Kev::start(dir.path(), "watch", &kube_config, &[]);
    watch.wait_ready("ready", SLACK).await;
    server
        .create("live", warning("db.1", "ImagePullBackOff", "db-0"))
        .unwrap();
    server
        .create("live", warning("db.2", "ErrImagePull", "db-1"))
        .unwrap();

    let prometheus = Prometheus::start(
        &tools,
        dir.path(),
        &[("replay", &replay.listen), ("watch", &watch.listen)],
    );
    let expect = [
        (r#"sum(kev_events_total{job="replay"})"#, 11.0),
        (
            r#"sum(kev_events_total{job="replay",reason="BackOff",type="Warning"})"#,
            5.0,
        ),
        (r#"sum(kev_events_total{job="replay",type="Normal"})"#, 3.0),
        (
            r#"kev_objects_in_condition{job="replay",namespace="shop",kind="Pod",reason="BackOff"}"#,
            4.0,
        ),
        (
            r#"kev_objects_in_condition{job="replay",reason="FailedScheduling"}"#,
            3.0,
        ),
        // The oldest BackOff (web-0, first seen at 0 s) against the newest event (300 s).
        (
            r#"kev_condition_seconds{job="replay",reason="BackOff"}"#,
            300.0,
        ),
        (r#"sum(kev_events_total{job="watch"})"#, 2.0),
        (
            r#"kev_objects_in_condition{job="watch",namespace="live",reason="ImagePullBackOff"}"#,
            2.0,
        ),
    ];
    for (query, want) in expect {
        eventually(
            &format!("Prometheus answers {query} = {want}"),
            SLACK,
            || async { (prometheus.value(query).await == Some(want)).then_some(()) },
        )
        .await;
    }
    assert_eq!(
        prometheus
            .value(r#"count(kev_objects_in_condition{job="replay",reason="BackOff"})"#)
            .await,
        Some(1.0),
        "the recovered pod left no series of its own"
    );

    drop(writer);
    watch.terminate();
    assert!(watch.wait_exit(SLACK).await.success(), "{}", watch.log());
    let mut replay = replay;
    assert!(replay.wait_exit(SLACK).await.success(), "{}", replay.log());
}
