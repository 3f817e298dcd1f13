//! core/v1 fallback when events.k8s.io/v1 is not served, found once through discovery.

mod recorder_support;

use std::time::Duration;

use kev_core::EventType;
use kev_recorder::{ApiGroup, EventRecorder, NewEvent, RecorderConfig};
use kev_tests::fake_api::Group;
use recorder_support::{env, pod};

#[tokio::test]
async fn without_events_k8s_io_the_recorder_writes_core_v1_like_tools_record() {
    let e = env(RecorderConfig::default(), true).await;
    let web = pod("web-0");
    for _ in 0..3 {
        e.clock.advance(Duration::from_secs(1));
        e.recorder.record(
            NewEvent::warning(
                &web,
                "MissingSecret",
                "Reconcile",
                "secret \"db\" not found",
            )
            .related(&pod("db-0")),
        );
    }
    e.recorder.flush().await;
    assert_eq!(e.recorder.api_group(), Some(ApiGroup::Core));
    assert_eq!(e.recorder.stats().discoveries, 1, "discovery runs once");
    assert_eq!(e.proxy.requests("POST", Group::Events), 0);
    assert_eq!(e.proxy.requests("POST", Group::Core), 1);
    assert_eq!(e.proxy.requests("PATCH", Group::Core), 2);
    let live = e.server.live();
    assert_eq!(live.len(), 1);
    let core = live[0].value(Group::Core);
    assert_eq!(core["count"], 3);
    assert_eq!(core["message"], "secret \"db\" not found");
    assert_eq!(core["involvedObject"]["name"], "web-0");
    assert_eq!(core["source"]["component"], recorder_support::CONTROLLER);
    assert_eq!(core["reportingComponent"], recorder_support::CONTROLLER);
    assert_eq!(core["reportingInstance"], "test-controller-0");
    assert_ne!(core["firstTimestamp"], core["lastTimestamp"]);
}

#[tokio::test]
async fn the_tenth_distinct_message_is_combined() {
    let e = env(RecorderConfig::default(), true).await;
    let web = pod("web-0");
    for i in 0..12 {
        e.clock.advance(Duration::from_secs(1));
        e.recorder.publish(
            &web,
            EventType::Warning,
            "FailedSync",
            &format!("attempt {i} failed"),
            "Reconcile",
        );
    }
    e.recorder.flush().await;
    let live = e.server.live();
    // Nine distinct messages as their own events, then one combined event.
    assert_eq!(
        live.len(),
        10,
        "{:?}",
        live.iter()
            .map(|r| r.core["message"].clone())
            .collect::<Vec<_>>()
    );
    let combined: Vec<_> = live
        .iter()
        .map(|r| r.value(Group::Core))
        .filter(|v| {
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("(combined from similar events): ")
        })
        .collect();
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["count"], 3);
    assert_eq!(
        combined[0]["message"],
        "(combined from similar events): attempt 11 failed"
    );
}
