//! The watch metrics, read back through a debugging recorder: restarts by reason,
//! events by api and type, the connected gauge, lag samples, progress age.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::MemoryStore;
use kev_core::metrics as m;
use kev_tests::fake_api::core_event;
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, wait_until};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// One snapshot (a debugging recorder's snapshot drains what it reads).
type Snap = Vec<(CompositeKey, DebugValue)>;

fn value<'a>(snap: &'a Snap, name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    snap.iter().find_map(|(key, v)| {
        let k = key.key();
        let all = labels
            .iter()
            .all(|(l, val)| k.labels().any(|x| x.key() == *l && x.value() == *val));
        (k.name() == name && all).then_some(v)
    })
}

fn counter(snap: &Snap, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(snap, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_metrics_count_what_happened() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let server = fast_server().await;
    for i in 0..30 {
        server
            .create("web", core_event("web", &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    wait_until("listed", Duration::from_secs(10), || {
        has_latest(&server, &run.store)
    })
    .await;
    for i in 30..40 {
        server
            .create("web", core_event("web", &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    server
        .patch("web", "e0", &serde_json::json!({"count": 2}))
        .unwrap();
    server.delete("web", "e1").unwrap();
    wait_until("watched", Duration::from_secs(10), || {
        run.health.stats().deleted == 1 && has_latest(&server, &run.store)
    })
    .await;
    server.faults().expire_at(server.faults().delivered() + 1);
    server
        .create("web", core_event("web", "last", "Pulled"))
        .unwrap();
    wait_until("relisted", Duration::from_secs(10), || {
        run.health.stats().restarts_expired == 1 && has_latest(&server, &run.store)
    })
    .await;
    wait_until("a bookmark", Duration::from_secs(5), || {
        run.health.stats().bookmarks > 0
    })
    .await;
    let bookmarks = run.health.stats().bookmarks;
    let snap: Snap = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(k, _, _, v)| (k, v))
        .collect();

    let core = ("api", "core");
    assert_eq!(
        counter(&snap, m::WATCH_EVENTS_TOTAL, &[core, ("type", "ADDED")]),
        11,
        "10 + last"
    );
    assert_eq!(
        counter(&snap, m::WATCH_EVENTS_TOTAL, &[core, ("type", "MODIFIED")]),
        1
    );
    assert_eq!(
        counter(&snap, m::WATCH_EVENTS_TOTAL, &[core, ("type", "DELETED")]),
        1
    );
    assert_eq!(
        counter(&snap, m::WATCH_RESTARTS_TOTAL, &[("reason", "expired")]),
        1
    );
    assert_eq!(
        counter(&snap, m::WATCH_RESTARTS_TOTAL, &[("reason", "stalled")]),
        0
    );
    assert_eq!(
        counter(&snap, m::WATCH_EVENTS_TOTAL, &[core, ("type", "BOOKMARK")]),
        bookmarks
    );
    assert!(value(&snap, m::WATCH_LAST_PROGRESS_AGE_SECONDS, &[]).is_some());
    match value(&snap, m::WATCH_CONNECTED, &[core]) {
        Some(DebugValue::Gauge(g)) => assert_eq!(g.into_inner(), 1.0),
        other => panic!("kev_watch_connected: {other:?}"),
    }
    match value(&snap, m::WATCH_LAG_SECONDS, &[core]) {
        // 30 listed + 11 added + 1 modified + 40 relisted.
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 30 + 12 + 40),
        other => panic!("kev_watch_lag_seconds: {other:?}"),
    }
    run.stop().await;
}
