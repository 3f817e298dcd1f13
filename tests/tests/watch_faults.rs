//! Stalls, an API server that is down at start, 500/429 answers, and bad objects in
//! the stream.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::MemoryStore;
use kev_kube_source::KubeSourceConfig;
use kev_tests::fake_api::{FakeApiServer, FakeConfig, Group, HttpFault, core_event};
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, stored_keys, wait_until};

#[tokio::test]
async fn a_stalled_stream_is_restarted_by_the_watchdog_and_nothing_is_lost() {
    let server = fast_server().await;
    let config = KubeSourceConfig {
        stall_timeout: Duration::from_secs(1),
        ..fast_config()
    };
    let run = Running::start(&server, config, Arc::new(MemoryStore::new()));
    for i in 0..100 {
        server
            .create("web", core_event("web", &format!("a{i}"), "Pulled"))
            .unwrap();
    }
    wait_until("the first 100", Duration::from_secs(10), || {
        has_latest(&server, &run.store)
    })
    .await;
    server.stall_open_watches();
    for i in 0..100 {
        server
            .create("web", core_event("web", &format!("b{i}"), "Pulled"))
            .unwrap();
    }
    wait_until(
        "the watchdog restarted the watch",
        Duration::from_secs(10),
        || run.health.stats().restarts_stalled == 1,
    )
    .await;
    wait_until(
        "the 100 sent after the stall",
        Duration::from_secs(10),
        || has_latest(&server, &run.store),
    )
    .await;
    wait_until("ready again", Duration::from_secs(5), || {
        run.health.is_ready()
    })
    .await;
    let stats = run.health.stats();
    let store = Arc::clone(&run.store);
    let report = run.stop().await;
    assert_eq!(
        stats.restarts_stalled, 1,
        "healthy watches get bookmarks and are left alone"
    );
    assert_eq!(server.watch_requests(), 2);
    assert_eq!((report.stored, report.duplicates), (200, 0));
    assert_eq!(stored_keys(&store).1, 200);
}

#[tokio::test]
async fn a_server_down_at_start_is_waited_for_and_readiness_flips_back() {
    let server = FakeApiServer::new_down(FakeConfig {
        bookmark_interval: Duration::from_millis(250),
        ..FakeConfig::default()
    })
    .unwrap();
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    wait_until("two failed connects", Duration::from_secs(10), || {
        run.health.consecutive_failures() >= 2
    })
    .await;
    assert!(!run.health.is_ready());
    assert!(
        run.health
            .not_ready_reason()
            .unwrap()
            .contains("not synced"),
        "never connected"
    );
    // Down for 2 s in all (the issue's 5 s, shortened: backoff is capped at 200 ms here).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!run.health.is_ready());
    for i in 0..50 {
        server
            .create("web", core_event("web", &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    server.come_up().await.unwrap();
    wait_until(
        "ready after the server came up",
        Duration::from_secs(10),
        || run.health.is_ready(),
    )
    .await;
    wait_until("stored", Duration::from_secs(10), || {
        has_latest(&server, &run.store)
    })
    .await;
    let stats = run.health.stats();
    let report = run.stop().await;
    assert!(
        stats.failures >= 5,
        "retried with backoff while down: {}",
        stats.failures
    );
    assert_eq!((report.stored, report.duplicates), (50, 0));
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_then_the_watch_goes_on() {
    let server = fast_server().await;
    for i in 0..20 {
        server
            .create("web", core_event("web", &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    server.faults().fail_next(
        2,
        HttpFault {
            status: 500,
            retry_after_secs: None,
        },
    );
    server.faults().fail_next(
        1,
        HttpFault {
            status: 429,
            retry_after_secs: Some(1),
        },
    );
    let started = std::time::Instant::now();
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    wait_until("stored", Duration::from_secs(10), || {
        has_latest(&server, &run.store)
    })
    .await;
    // kube-client itself retries a 429 after its Retry-After; it is no failure here.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    // Cut the running watch: it resumes, then a 500 on the next watch start.
    server.faults().fail_next(
        1,
        HttpFault {
            status: 500,
            retry_after_secs: None,
        },
    );
    server.go_down();
    server.come_up().await.unwrap();
    for i in 20..40 {
        server
            .create("web", core_event("web", &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    wait_until("stored after the cut", Duration::from_secs(10), || {
        has_latest(&server, &run.store)
    })
    .await;
    wait_until("ready", Duration::from_secs(5), || run.health.is_ready()).await;
    let stats = run.health.stats();
    let report = run.stop().await;
    assert_eq!(
        stats.failures, 3,
        "two 500s on the list, one on the watch after the cut"
    );
    assert_eq!((report.stored, report.duplicates), (40, 0));
    assert_eq!(stats.restarts_expired, 0);
}

#[tokio::test]
async fn bad_objects_are_counted_and_skipped_and_the_watch_goes_on() {
    let server = fast_server().await;
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    wait_until("ready", Duration::from_secs(10), || run.health.is_ready()).await;
    server
        .create("web", core_event("web", "before", "Pulled"))
        .unwrap();
    server.push_raw_line(
        Group::Core,
        r#"{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"web","uid":"pod-1","resourceVersion":"9999"}}}"#,
    );
    server.push_raw_line(
        Group::Core,
        r#"{"type":"ADDED","object":{"kind":"Event","apiVersion":"v1","metadata":{"name":"x","namespace":"web"},"reason":"NoUid"}}"#,
    );
    server.push_raw_line(Group::Core, r#"{"type":"ADDED","object":"not an object"}"#);
    let mut huge = core_event("web", "huge", "Failed");
    huge["message"] = serde_json::Value::from("x".repeat(1024 * 1024));
    let huge = server.create("web", huge).unwrap();
    server
        .create("web", core_event("web", "after", "Pulled"))
        .unwrap();
    wait_until(
        "the event after the bad ones",
        Duration::from_secs(10),
        || {
            let (keys, _) = stored_keys(&run.store);
            keys.len() == 2
        },
    )
    .await;
    let stats = run.health.stats();
    let store = Arc::clone(&run.store);
    let report = run.stop().await;
    assert_eq!(
        stats.skipped, 3,
        "a Pod, a string, a 1 MiB message: skipped by the source"
    );
    assert_eq!(
        report.normalize_errors, 1,
        "an Event without uid: skipped by the normalizer"
    );
    assert_eq!(stats.failures, 0);
    assert_eq!(server.watch_requests(), 1, "the watch went on");
    assert_eq!(report.stored, 2);
    let (keys, _) = stored_keys(&store);
    assert!(!keys.contains(&(huge.uid.clone(), huge.rv)));
}

/// kev falls behind (each append of up to 500 takes 100 ms) while 30 000 Events wait on
/// the server for its watch, resumed from a stored checkpoint: once kev's bounded queues
/// and the socket buffers are full the watch stops reading, the server finds the
/// watcher unresponsive (a chunk not taken within 20 ms) and closes it, as the API
/// server does. The source resumes after the last event it read; every Event is
/// stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_the_server_closes_as_unresponsive_resumes_with_nothing_lost() {
    use kev_core::Store;
    use kev_core::store::Checkpoint;
    use kev_tests::observed_store::ObservedStore;
    const EVENTS: usize = 30_000;
    let server = fast_server().await;
    // rv 1, the position kev resumes after.
    server
        .create("ns-0", core_event("ns-0", "marker", "Pulled"))
        .unwrap();
    for i in 0..EVENTS {
        let ns = format!("ns-{}", i % 20);
        server
            .create(&ns, core_event(&ns, &format!("e{i}"), "BackOff"))
            .unwrap();
    }
    let store = Arc::new(ObservedStore::with_append_delay(Duration::from_millis(100)));
    let resume = Checkpoint {
        source: "kube".into(),
        position: r#"{"core":"1"}"#.into(),
    };
    store.inner.append(&[], Some(&resume)).unwrap();
    server
        .faults()
        .close_unresponsive_after(Some(Duration::from_millis(20)));
    let run = Running::start_observed(&server, fast_config(), Arc::clone(&store));
    wait_until(
        "the server closed an unresponsive watch",
        Duration::from_secs(30),
        || server.faults().unresponsive_closes() > 0,
    )
    .await;
    assert!(
        store.inner.last_seq().unwrap() < EVENTS as u64,
        "closed while kev was behind"
    );
    // Stop closing, so the rest arrives however slowly kev reads.
    server.faults().close_unresponsive_after(None);
    wait_until("every Event stored", Duration::from_secs(120), || {
        store.inner.last_seq().unwrap() >= EVENTS as u64
    })
    .await;
    let report = run.stop().await;
    let (keys, n) = stored_keys(&store.inner);
    assert_eq!(n, keys.len(), "an (uid, resourceVersion) stored twice");
    assert_eq!(keys.len(), EVENTS, "every Event after the checkpoint");
    assert_eq!(
        report.duplicates, 0,
        "resumed after what was read, not before"
    );
    assert!(server.watch_requests() >= 2, "a new watch after the close");
}
