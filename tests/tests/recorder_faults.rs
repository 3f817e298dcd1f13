//! A dead API server never blocks `publish`; 429 is retried after Retry-After,
//! AlreadyExists is not looped on; invalid events never reach the server; notes
//! arrive redacted.

mod recorder_support;

use std::time::{Duration, Instant};

use kev_core::EventType;
use kev_recorder::{
    DropReason, EventRecorder, NewEvent, Published, Recorder, RecorderConfig, Reporter,
};
use kev_tests::api_proxy::{ApiProxy, WriteFault};
use kev_tests::fake_api::{FakeApiServer, FakeConfig, Group};
use recorder_support::{env, fast, live_events, pod};

#[tokio::test]
async fn a_dead_api_server_never_blocks_publish() {
    // Reserved address, nothing listening: every connection is refused.
    let server = FakeApiServer::new_down(FakeConfig::default()).unwrap();
    let config = fast(RecorderConfig {
        queue_size: 100,
        ..RecorderConfig::default()
    });
    let recorder = Recorder::new(
        server.client(),
        Reporter::new("kev.dev/test", "t-0").unwrap(),
        config,
    )
    .unwrap();
    let start = Instant::now();
    let mut outcomes = std::collections::HashMap::new();
    for i in 0..5_000 {
        let p = recorder.warn(&pod(&format!("p-{i}")), "Unreachable", "Reconcile", "x");
        *outcomes.entry(p).or_insert(0u32) += 1;
    }
    // Generous: 5 000 calls that never wait on the network (the bench measures µs).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let queued = outcomes[&Published::Accepted];
    assert!((100..=101).contains(&queued), "{outcomes:?}");
    assert_eq!(
        outcomes[&Published::Dropped(DropReason::QueueFull)],
        5_000 - queued
    );
    assert_eq!(
        recorder.stats().dropped(DropReason::QueueFull),
        u64::from(5_000 - queued)
    );
}

#[tokio::test]
async fn events_queued_while_the_server_is_down_are_sent_when_it_comes_back() {
    let server = FakeApiServer::new_down(FakeConfig::default()).unwrap();
    let config = RecorderConfig {
        retry_sleep: Duration::from_millis(50),
        max_tries: 100,
        ..fast(RecorderConfig::default())
    };
    let recorder = Recorder::new(
        server.client(),
        Reporter::new("kev.dev/test", "t-0").unwrap(),
        config,
    )
    .unwrap();
    assert!(
        recorder
            .warn(&pod("a"), "Unreachable", "Reconcile", "x")
            .is_accepted()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.come_up().await.unwrap();
    recorder.flush().await;
    assert_eq!(server.live().len(), 1);
    assert!(recorder.stats().discoveries > 1, "discovery was retried");
}

#[tokio::test]
async fn too_many_requests_is_retried_after_retry_after() {
    let e = env(RecorderConfig::default(), false).await;
    e.proxy.fail_next_writes(
        1,
        WriteFault {
            status: 429,
            reason: "TooManyRequests".into(),
            retry_after_secs: Some(1),
        },
    );
    let start = Instant::now();
    e.recorder.warn(&pod("a"), "BackOff", "Reconcile", "x");
    e.recorder.flush().await;
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(e.server.live().len(), 1);
    let posts: Vec<u16> = e
        .proxy
        .seen()
        .iter()
        .filter(|s| s.method == "POST")
        .map(|s| s.status)
        .collect();
    assert_eq!(posts, vec![429, 201]);
}

#[tokio::test]
async fn a_429_the_client_did_not_retry_is_dropped_not_looped_on() {
    let server = FakeApiServer::start().await.unwrap();
    let proxy = ApiProxy::start(&server).await.unwrap();
    let recorder = Recorder::new(
        proxy.client_without_retries(),
        Reporter::new("kev.dev/test", "t-0").unwrap(),
        fast(RecorderConfig::default()),
    )
    .unwrap();
    proxy.fail_next_writes(
        10,
        WriteFault {
            status: 429,
            reason: "TooManyRequests".into(),
            retry_after_secs: None,
        },
    );
    recorder.warn(&pod("a"), "BackOff", "Reconcile", "x");
    recorder.flush().await;
    assert_eq!(proxy.requests("POST", Group::Events), 1);
    assert_eq!(recorder.stats().dropped(DropReason::Throttled), 1);
    // Once the server stops throttling, the next event goes through.
    for i in 0..9 {
        recorder.warn(&pod(&format!("drain-{i}")), "BackOff", "Reconcile", "x");
    }
    recorder.warn(&pod("b"), "BackOff", "Reconcile", "x");
    recorder.flush().await;
    assert_eq!(server.live().len(), 1, "nine throttled, then one created");
    assert_eq!(recorder.stats().dropped(DropReason::Throttled), 10);
}

#[tokio::test]
async fn already_exists_on_a_new_event_is_not_retried() {
    let e = env(RecorderConfig::default(), false).await;
    e.proxy.fail_next_writes(
        1,
        WriteFault {
            status: 409,
            reason: "AlreadyExists".into(),
            retry_after_secs: None,
        },
    );
    e.recorder.warn(&pod("a"), "BackOff", "Reconcile", "x");
    e.recorder.flush().await;
    assert_eq!(e.proxy.requests("POST", Group::Events), 1);
    assert_eq!(e.recorder.stats().dropped(DropReason::Rejected), 1);
}

#[tokio::test]
async fn invalid_events_are_dropped_before_the_api_server() {
    let e = env(RecorderConfig::default(), false).await;
    let p = pod("a");
    let long = "A".repeat(129);
    assert_eq!(
        e.recorder.warn(&p, &long, "Reconcile", "x"),
        Published::Dropped(DropReason::Invalid)
    );
    assert_eq!(
        e.recorder.warn(&p, "Failed", "", "x"),
        Published::Dropped(DropReason::Invalid)
    );
    assert_eq!(
        e.recorder.publish(
            &p,
            EventType::Other("Error".into()),
            "Failed",
            "x",
            "Reconcile"
        ),
        Published::Dropped(DropReason::Invalid)
    );
    // A note over 1024 bytes is not invalid: it is cut.
    assert!(
        e.recorder
            .warn(&p, "Failed", "Reconcile", &"é".repeat(1000))
            .is_accepted()
    );
    e.recorder.flush().await;
    assert_eq!(e.recorder.stats().dropped(DropReason::Invalid), 3);
    let events = live_events(&e.server);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["note"].as_str().unwrap().len(), 1024);
    assert!(
        e.proxy.seen().iter().all(|s| s.status < 400),
        "nothing was refused: {:?}",
        e.proxy.seen()
    );
}

#[tokio::test]
async fn notes_with_secrets_arrive_redacted() {
    let e = env(RecorderConfig::default(), false).await;
    let note = "connect postgres://app:s3cr3t@db:5432 failed; password=hunter2; Authorization: Bearer abcdefghijklmnop";
    e.recorder.record(NewEvent::warning(
        &pod("a"),
        "DatabaseUnreachable",
        "Connect",
        note,
    ));
    e.recorder.flush().await;
    let events = live_events(&e.server);
    let sent = events[0]["note"].as_str().unwrap();
    assert_eq!(
        sent,
        "connect postgres://app:[REDACTED]@db:5432 failed; password=[REDACTED]; Authorization: Bearer [REDACTED]"
    );
    for secret in ["s3cr3t", "hunter2", "abcdefghijklmnop"] {
        assert!(!sent.contains(secret));
    }
}

#[tokio::test]
async fn a_disabled_recorder_makes_no_call() {
    let e = env(
        RecorderConfig {
            enabled: false,
            ..RecorderConfig::default()
        },
        false,
    )
    .await;
    assert_eq!(
        e.recorder.warn(&pod("a"), "BackOff", "Reconcile", "x"),
        Published::Dropped(DropReason::Disabled)
    );
    e.recorder.flush().await;
    assert!(e.proxy.seen().is_empty());
}
