//! The bundled sample in `examples/events/` replays and normalizes completely, and
//! shows what kev does: redaction, series counts, repeated events, watch records.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;

use kev_core::{
    DefaultNormalizer, Event, EventSource, EventType, NormalizeConfig, Normalizer, RawEvent,
    ReplaySource, SourceItem,
};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/events")
        .join(name)
}

async fn replay(name: &str) -> (Vec<Event>, kev_core::source::replay::ReplayStats) {
    let n = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
    let mut source = ReplaySource::open(example(name).to_str().unwrap()).unwrap();
    source.start(None).await.unwrap();
    let mut events = Vec::new();
    while let Some(item) = source.next().await {
        if let SourceItem::Event { raw, location, .. } = item.unwrap() {
            let RawEvent::Kube(raw) = raw else {
                panic!("{location}: not a Kubernetes Event")
            };
            events.push(
                n.normalize(*raw)
                    .unwrap_or_else(|e| panic!("{location}: {e}")),
            );
        }
    }
    (events, source.stats())
}

#[tokio::test]
async fn the_cluster_sample_replays_completely() {
    let (events, stats) = replay("cluster-events.json").await;
    assert_eq!(stats.errors, 0, "{:?}", stats.issues);
    assert_eq!(events.len(), 61);

    let namespaces: BTreeSet<&str> = events.iter().map(|e| e.namespace.as_str()).collect();
    assert!(namespaces.len() >= 5, "{namespaces:?}");
    let reasons: BTreeSet<&str> = events.iter().map(|e| e.reason.as_str()).collect();
    for r in [
        "BackOff",
        "FailedScheduling",
        "FailedMount",
        "Failed",
        "Unhealthy",
        "OOMKilling",
        "MissingSecret",
        "Scheduled",
        "Pulled",
        "Created",
        "Started",
        "ScalingReplicaSet",
    ] {
        assert!(reasons.contains(r), "no {r} event in the sample");
    }
    assert!(
        events
            .iter()
            .any(|e| e.count > 10 && e.r#type == EventType::Warning)
    );

    let leaked: Vec<&Event> = events
        .iter()
        .filter(|e| e.message.contains("Authorization"))
        .collect();
    assert_eq!(leaked.len(), 1);
    assert!(
        leaked[0].message.contains("Bearer [REDACTED]"),
        "{}",
        leaked[0].message
    );
    assert!(!leaked[0].message.contains("kev-demo-3f9a"));

    let series = events
        .iter()
        .find(|e| e.reason == "EvictionThresholdMet")
        .unwrap();
    assert_eq!(series.count, 4);
    assert_eq!(series.reporting_controller, "kubelet");
    assert!(series.first_seen < series.last_seen);
}

#[tokio::test]
async fn the_watch_dump_replays_without_its_deleted_record() {
    let (events, stats) = replay("watch-dump.json").await;
    assert_eq!(stats.errors, 0, "{:?}", stats.issues);
    assert_eq!(stats.items, 5);
    assert_eq!(stats.skipped, 1);
    let counts: Vec<(String, u32)> = events.iter().map(|e| (e.reason.clone(), e.count)).collect();
    assert_eq!(
        counts,
        [
            ("BackOff", 42),
            ("BackOff", 43),
            ("Killing", 1),
            ("BackOff", 44)
        ]
        .map(|(r, c)| (r.to_owned(), c))
    );
    // Versions of one event share the uid and differ in resourceVersion.
    assert_eq!(events[0].uid, events[1].uid);
    assert_ne!(events[0].idempotency_key(), events[1].idempotency_key());
}
