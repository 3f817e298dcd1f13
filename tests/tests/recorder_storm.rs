//! Storms: 10 000 identical failures on one object, and 1 000 objects × 10 reasons,
//! against the fake API server.

mod recorder_support;

use std::time::Duration;

use kev_core::EventType;
use kev_recorder::{DropReason, EventRecorder, Recorder, RecorderConfig, Reporter};
use kev_tests::fake_api::{FakeApiServer, Group};
use recorder_support::{CONTROLLER, env, fast, live_events, occurrences, pod};

#[tokio::test]
async fn ten_thousand_identical_failures_in_a_minute_make_one_series() {
    let e = env(RecorderConfig::default(), false).await;
    let web = pod("web-0");
    let mut accepted = 0u64;
    for i in 0..10_000u32 {
        // 10 000 failures spread over one minute.
        e.clock.advance(Duration::from_millis(6));
        let p = e.recorder.warn(
            &web,
            "MissingSecret",
            "Reconcile",
            &format!("secret \"db\" not found (try {i})"),
        );
        accepted += u64::from(p.is_accepted());
    }
    e.recorder.flush().await;
    let stats = e.recorder.stats();
    // Spam filter bound: burst 25, plus one per 300 s of the 60 s elapsed (none).
    assert_eq!(accepted, 25);
    assert_eq!(stats.accepted, 25);
    assert_eq!(stats.dropped(DropReason::Spam), 9_975);
    // 1st: CREATE; 2nd: PATCH; the rest in memory.
    assert_eq!(e.proxy.requests("POST", Group::Events), 1);
    assert_eq!(e.proxy.requests("PATCH", Group::Events), 1);

    // Idle for 6 minutes: the final PATCH carries every allowed occurrence.
    e.clock.advance(Duration::from_secs(6 * 60));
    e.recorder.flush().await;
    let events = live_events(&e.server);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(occurrences(&events[0]), accepted);
    assert_eq!(events[0]["reason"], "MissingSecret");
    assert_eq!(events[0]["type"], "Warning");
    assert_eq!(
        events[0]["reportingController"],
        recorder_support::CONTROLLER
    );
    assert_eq!(events[0]["note"], "secret \"db\" not found (try 0)");
    let (posts, patches) = (
        e.proxy.requests("POST", Group::Events),
        e.proxy.requests("PATCH", Group::Events),
    );
    assert_eq!((posts, patches), (1, 2));
    assert_eq!(
        e.recorder.stats().cached_series,
        0,
        "the finished series left the cache"
    );
    println!(
        "storm: 10000 published, {accepted} allowed, API calls: {posts} create + {patches} patch (+{} discovery)",
        e.recorder.stats().discoveries
    );
}

#[tokio::test]
async fn a_hot_loop_costs_a_patch_per_30_minutes() {
    let e = env(RecorderConfig::default(), false).await;
    let web = pod("web-1");
    // A reconcile failing every 5 s for 2 hours; the spam filter refills 1 per 300 s,
    // so one failure per 5 minutes gets through after the burst.
    for _ in 0..(2 * 3600 / 5) {
        e.clock.advance(Duration::from_secs(5));
        e.recorder.warn(
            &web,
            "InvalidSpec",
            "Reconcile",
            "spec.replicas must be positive",
        );
        e.recorder.flush().await;
    }
    let patches = e.proxy.requests("PATCH", Group::Events);
    let posts = e.proxy.requests("POST", Group::Events);
    assert_eq!(posts, 1);
    // The 2nd occurrence's PATCH, then one heartbeat per 30 minutes (4 in 2 h at most).
    assert!((2..=5).contains(&patches), "{patches} patches");
    let accepted = e.recorder.stats().accepted;
    assert!(accepted <= 25 + 2 * 3600 / 300, "{accepted}");
    e.recorder.close().await;
    let events = live_events(&e.server);
    assert_eq!(occurrences(&events[0]), accepted);
    println!(
        "hot loop, 2 h at 5 s: {posts} create + {patches} patch, {accepted} occurrences allowed"
    );
}

#[tokio::test]
async fn a_thousand_objects_times_ten_reasons_stay_within_the_lru_bound() {
    // Straight to the server (no counting proxy): 10 000 CREATEs.
    let server = FakeApiServer::start().await.unwrap();
    let config = fast(RecorderConfig {
        queue_size: 10_000,
        ..RecorderConfig::default()
    });
    let reporter = Reporter::new(CONTROLLER, "t-0").unwrap();
    let recorder = Recorder::new(server.client(), reporter, config).unwrap();
    let reasons = [
        "MissingSecret",
        "InvalidSpec",
        "Forbidden",
        "BackOff",
        "Unhealthy",
        "FailedMount",
        "FailedSync",
        "QuotaExceeded",
        "Timeout",
        "Conflict",
    ];
    for i in 0..1_000 {
        let p = pod(&format!("p-{i}"));
        for r in reasons {
            assert!(
                recorder
                    .publish(&p, EventType::Warning, r, "failed", "Reconcile")
                    .is_accepted()
            );
        }
    }
    recorder.flush().await;
    let stats = recorder.stats();
    assert_eq!(stats.accepted, 10_000);
    assert!(stats.spam_keys <= 4096, "{stats:?}");
    assert_eq!(stats.spam_keys, 1_000, "one spam key per (object, type)");
    assert!(stats.cached_series <= 4096, "{stats:?}");
    assert_eq!(
        stats.cached_series, 4096,
        "the series cache is full, not larger"
    );
    assert_eq!(server.live().len(), 10_000);
    assert_eq!(stats.creates, 10_000);
}
