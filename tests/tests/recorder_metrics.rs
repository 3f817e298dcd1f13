//! The recorder reports under kev's metric names, with bounded labels.

mod recorder_support;

use kev_core::metrics as names;
use kev_recorder::{EventRecorder, RecorderConfig};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use recorder_support::{env, pod};

/// A metric's name, its labels, and its value.
type Sample = (String, Vec<(String, String)>, DebugValue);

fn counter(snapshot: &[Sample], name: &str, label: (&str, &str)) -> u64 {
    snapshot
        .iter()
        .filter(|(n, labels, _)| {
            n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
        })
        .map(|(_, _, v)| match v {
            DebugValue::Counter(c) => *c,
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn events_api_calls_and_drops_are_counted() {
    // The writer runs on another task, so the recorder is installed globally; this
    // file is its own process.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();

    let e = env(RecorderConfig::default(), false).await;
    for _ in 0..30 {
        e.recorder
            .warn(&pod("a"), "MissingSecret", "Reconcile", "x");
    }
    e.recorder.warn(&pod("a"), "Failed", "", "no action");
    e.recorder.flush().await;

    let snapshot: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(k, _, _, v)| {
            let key = k.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, v)
        })
        .collect();
    assert_eq!(
        counter(
            &snapshot,
            names::RECORDER_EVENTS_TOTAL,
            ("reason", "MissingSecret")
        ),
        25
    );
    assert_eq!(
        counter(&snapshot, names::RECORDER_EVENTS_TOTAL, ("type", "Warning")),
        25
    );
    assert_eq!(
        counter(&snapshot, names::RECORDER_DROPPED_TOTAL, ("why", "spam")),
        5
    );
    assert_eq!(
        counter(&snapshot, names::RECORDER_DROPPED_TOTAL, ("why", "invalid")),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            names::RECORDER_API_CALLS_TOTAL,
            ("verb", "create")
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            names::RECORDER_API_CALLS_TOTAL,
            ("verb", "patch")
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            names::RECORDER_API_CALLS_TOTAL,
            ("verb", "discover")
        ),
        1
    );
    // Labels come from bounded sets only.
    for (name, labels, _) in &snapshot {
        if name.starts_with("kev_recorder_") {
            for (k, _) in labels {
                assert!(
                    ["type", "reason", "verb", "why"].contains(&k.as_str()),
                    "{name} {k}"
                );
            }
        }
    }
}
