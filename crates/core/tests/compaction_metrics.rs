//! Compaction through the compactor's real path (`compact_round` → the blocking pool →
//! `Store::compact`) counts each removed event once: one series per counter, labelled
//! with the backend, not a second unlabelled one from the compactor.
#![allow(clippy::unwrap_used)] // a test: a panic is a failure

use std::sync::Arc;

use kev_core::metrics as names;
use kev_core::pipeline::{CompactorConfig, compact_round};
use kev_core::store::AsyncStore;
use kev_core::testkit::sink::sample_events;
use kev_core::{MemoryStore, Retention, Store};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// A counter's labels as (key, value) pairs.
type Labels = Vec<(String, String)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_round_counts_each_removal_once() {
    // Global: the store runs on blocking threads, which a thread-local recorder misses.
    // This file holds this one test, so nothing else records into it.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let events: Vec<_> = sample_events(1, 10).into_iter().map(|e| e.event).collect();
    store.append(&events, None).unwrap();
    store.commit_cursor("slow", 2).unwrap();
    let config = CompactorConfig {
        retention: Retention {
            max_events: Some(6),
            hard_max_events: Some(7),
            ..Retention::default()
        },
        // Several steps, as a large store would take.
        step: 1,
        ..CompactorConfig::default()
    };
    assert_eq!(
        compact_round(&AsyncStore::new(store), &config)
            .await
            .unwrap(),
        3
    );

    let counters: Vec<(String, Labels, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let key = key.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                Some((key.name().to_owned(), labels, n))
            }
            _ => None,
        })
        .collect();
    let series = |name: &str| -> Vec<(Labels, u64)> {
        counters
            .iter()
            .filter(|(n, ..)| n == name)
            .map(|(_, labels, v)| (labels.clone(), *v))
            .collect()
    };
    let memory = vec![("backend".to_owned(), "memory".to_owned())];
    assert_eq!(series(names::STORE_COMPACTED_TOTAL), [(memory.clone(), 3)]);
    // Seqs 1 and 2 were delivered; the hard cap took seq 3, which was not.
    assert_eq!(
        series(names::STORE_EVICTED_UNDELIVERED_TOTAL),
        [(memory, 1)]
    );
}
