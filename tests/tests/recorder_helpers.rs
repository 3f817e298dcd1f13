//! "First occurrence, then quiet" and state-change-only events, through the real
//! recorder and the fake API server.

mod recorder_support;

use std::time::Duration;

use kev_recorder::{DropReason, EventRecorder, NewEvent, Published, RecorderConfig};
use recorder_support::{env, live_events, occurrences, pod};

#[tokio::test]
async fn a_transient_error_is_said_once_per_cooldown() {
    let e = env(RecorderConfig::default(), false).await;
    let db = pod("db-0");
    let transient = || {
        NewEvent::warning(&db, "ConnectionRefused", "Connect", "dial tcp: refused")
            .quiet_for(Duration::from_secs(300))
    };
    let mut accepted = 0;
    // A reconcile every 10 s for 20 minutes.
    for _ in 0..120 {
        accepted += u32::from(e.recorder.record(transient()).is_accepted());
        e.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(accepted, 4, "one per 5 minutes");
    assert_eq!(e.recorder.stats().dropped(DropReason::Quiet), 116);
    e.recorder.close().await;
    let events = live_events(&e.server);
    assert_eq!(events.len(), 1, "{events:#?} {:?}", e.proxy.seen());
    assert_eq!(occurrences(&events[0]), 4);
}

#[tokio::test]
async fn steady_state_reconciles_emit_nothing() {
    let e = env(RecorderConfig::default(), false).await;
    let db = pod("db-0");
    let phases = [
        "Creating",
        "Creating",
        "Ready",
        "Ready",
        "Ready",
        "Unhealthy",
        "Ready",
        "Ready",
    ];
    let outcomes: Vec<Published> = phases
        .iter()
        .map(|p| {
            e.recorder.on_transition(
                "phase",
                p,
                NewEvent::normal(&db, p, "Reconcile", format!("phase is {p}")),
            )
        })
        .collect();
    let emitted: Vec<&str> = phases
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.is_accepted())
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(emitted, ["Creating", "Ready", "Unhealthy", "Ready"]);
    e.recorder.close().await;
    let mut reasons: Vec<String> = live_events(&e.server)
        .iter()
        .map(|v| v["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    // Ready twice is one series of 2.
    assert_eq!(reasons, ["Creating", "Ready", "Unhealthy"]);
}
