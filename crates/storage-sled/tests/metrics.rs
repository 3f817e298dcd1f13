//! SledStore reports size, append latency, compaction and evictions under kev's names.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use kev_core::metrics as names;
use kev_core::testkit::store::{at, events};
use kev_core::{Retention, Store};
use kev_storage_sled::{SledOptions, SledStore};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

fn value<'a>(snapshot: &'a [(String, DebugValue)], name: &str) -> &'a DebugValue {
    snapshot
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("metric {name} not reported: {snapshot:?}"))
}

#[test]
fn store_metrics_follow_appends_and_compaction() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let dir = tempfile::tempdir().unwrap();
    metrics::with_local_recorder(&recorder, || {
        let s = SledStore::open(dir.path(), SledOptions::default()).unwrap();
        s.append(&events(10), None).unwrap();
        s.commit_cursor("slow", 2).unwrap();
        let r = Retention {
            max_events: Some(6),
            hard_max_events: Some(7),
            ..Retention::default()
        };
        assert_eq!(s.compact(&r, at(100), 100).unwrap().removed, 3);
    });
    let snapshot: Vec<(String, DebugValue)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(k, _, _, v)| {
            let key = k.key();
            assert!(
                key.labels()
                    .all(|l| l.key() == "backend" && l.value() == "sled"),
                "{key:?}"
            );
            (key.name().to_owned(), v)
        })
        .collect();
    assert_eq!(
        value(&snapshot, names::STORE_EVENTS),
        &DebugValue::Gauge(7.0.into())
    );
    assert!(matches!(value(&snapshot, names::STORE_BYTES), DebugValue::Gauge(b) if b.0 > 0.0));
    assert!(
        matches!(value(&snapshot, names::STORE_APPEND_SECONDS), DebugValue::Histogram(h) if h.len() == 1)
    );
    assert_eq!(
        value(&snapshot, names::STORE_COMPACTED_TOTAL),
        &DebugValue::Counter(3)
    );
    assert_eq!(
        value(&snapshot, names::STORE_EVICTED_UNDELIVERED_TOTAL),
        &DebugValue::Counter(1)
    );
}
