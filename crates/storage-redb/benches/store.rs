//! RedbStore benches over kev-core's shared store workload: durable append in batches of
//! 500; one-namespace/one-hour query (plain and collapsed), reopen and disk bytes per event
//! on a store of `KEV_BENCH_EVENTS` (default 1,000,000) events, built once per run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kev_core::Store;
use kev_core::testkit::store::workload::{fill, namespace_hour_query, typical_event};
use kev_storage_redb::{FILE_NAME, RedbOptions, RedbStore};

/// Apparent length and allocated bytes (what `du` counts) of a file.
fn file_bytes(path: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.len(), meta.blocks() * 512)
}

fn bench_events() -> u64 {
    std::env::var("KEV_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Appends batches of 500 new events (made outside the timing) to a growing store.
fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("redb");
    g.throughput(Throughput::Elements(500));
    for durable in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let opts = RedbOptions {
            durable,
            ..RedbOptions::default()
        };
        let store = RedbStore::open(dir.path(), opts).unwrap();
        let mut next = 0u64;
        let name = if durable {
            "append_batch500_durable"
        } else {
            "append_batch500_no_fsync"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 500;
                    (next - 500..next).map(typical_event).collect::<Vec<_>>()
                },
                |batch| store.append(&batch, None).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn large_store(c: &mut Criterion) {
    let n = bench_events();
    let dir = tempfile::tempdir().unwrap();
    {
        // Built in batches of 5,000 with fsync per batch.
        let opts = RedbOptions {
            durable: true,
            ..RedbOptions::default()
        };
        let store = RedbStore::open(dir.path(), opts).unwrap();
        fill(&store, 0, n, 5_000).unwrap();
        store.put_state("bench", "built", b"1").unwrap();
    }
    let store = RedbStore::open(dir.path(), RedbOptions::default()).unwrap();
    let (bytes, allocated) = file_bytes(&dir.path().join(FILE_NAME));
    let stats = store.stats().unwrap();
    eprintln!(
        "redb: {} events; file {} bytes ({:.0}/event), allocated on disk {} bytes ({:.0}/event); encoded records {:.0} bytes/event",
        stats.events,
        bytes,
        bytes as f64 / stats.events as f64,
        allocated,
        allocated as f64 / stats.events as f64,
        stats.bytes as f64 / stats.events as f64
    );
    let plain = namespace_hour_query(n, false);
    let collapsed = namespace_hour_query(n, true);
    eprintln!(
        "redb: the namespace/hour query returns {} events, {} collapsed",
        store.query(&plain).unwrap().len(),
        store.query(&collapsed).unwrap().len()
    );
    let mut g = c.benchmark_group("redb");
    g.bench_function(format!("query_namespace_1h_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&plain).unwrap()))
    });
    g.bench_function(format!("query_namespace_1h_collapse_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&collapsed).unwrap()))
    });
    drop(store);
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function(format!("reopen_{n}"), |b| {
        b.iter(|| {
            let s = RedbStore::open(dir.path(), RedbOptions::default()).unwrap();
            black_box(s.last_seq().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, append, large_store);
criterion_main!(benches);
