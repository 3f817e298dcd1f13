//! An Event that expired (TTL) is created again when its next PATCH gets a 404.

mod recorder_support;

use std::time::Duration;

use kev_recorder::{EventRecorder, RecorderConfig};
use kev_tests::fake_api::Group;
use recorder_support::{env, live_events, occurrences, pod};

#[tokio::test]
async fn a_series_patch_after_the_ttl_recreates_the_event() {
    let e = env(RecorderConfig::default(), false).await;
    let web = pod("web-0");
    for _ in 0..3 {
        e.clock.advance(Duration::from_secs(10));
        e.recorder
            .warn(&web, "Unhealthy", "Probe", "readiness probe failed");
    }
    e.recorder.flush().await;
    let first = e.server.live();
    assert_eq!(first.len(), 1);
    // The API server's TTL removes the Event.
    e.server
        .delete(&first[0].namespace, &first[0].name)
        .unwrap();
    assert!(e.server.live().is_empty());
    // The series goes idle: its final PATCH finds nothing and CREATEs it, series and all.
    e.clock.advance(Duration::from_secs(6 * 60));
    e.recorder.flush().await;
    let events = live_events(&e.server);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["metadata"]["name"], first[0].name.as_str());
    assert_eq!(occurrences(&events[0]), 3);
    assert_eq!(e.proxy.requests("POST", Group::Events), 2);
    assert_eq!(e.proxy.requests("PATCH", Group::Events), 2);
    let statuses: Vec<u16> = e
        .proxy
        .seen()
        .iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, vec![200, 404]);
}

#[tokio::test]
async fn a_core_v1_patch_after_the_ttl_recreates_the_event_with_its_count() {
    let e = env(RecorderConfig::default(), true).await;
    let web = pod("web-0");
    e.recorder
        .warn(&web, "Unhealthy", "Probe", "readiness probe failed");
    e.recorder.flush().await;
    let first = e.server.live();
    e.server
        .delete(&first[0].namespace, &first[0].name)
        .unwrap();
    e.clock.advance(Duration::from_secs(1));
    e.recorder
        .warn(&web, "Unhealthy", "Probe", "readiness probe failed");
    e.recorder.flush().await;
    let live = e.server.live();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].value(Group::Core)["count"], 2);
    assert_eq!(e.proxy.requests("PATCH", Group::Core), 1);
    assert_eq!(e.proxy.requests("POST", Group::Core), 2);
}
