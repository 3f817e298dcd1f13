//! [`metrics_follow_appends_and_compaction`]: a store reports its size, append latency,
//! compaction and evictions under kev's metric names, labelled with its backend only.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};

use super::{StoreFactory, at, events};
use crate::metrics as names;
use crate::store::{Retention, Store};

fn value<'a>(snapshot: &'a [(String, DebugValue)], name: &str) -> &'a DebugValue {
    snapshot
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("metric {name} not reported: {snapshot:?}"))
}

/// Appends 10 events, compacts 3 (one of them undelivered, by the hard cap) and checks
/// every store metric; `backend` is the expected `backend` label.
pub fn metrics_follow_appends_and_compaction<F: StoreFactory>(f: &F, backend: &str) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let dir = tempfile::tempdir().unwrap();
    metrics::with_local_recorder(&recorder, || {
        let s = f.open(dir.path());
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
                    .all(|l| l.key() == "backend" && l.value() == backend),
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
