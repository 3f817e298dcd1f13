//! [`store_benches`]: the criterion benches every store backend runs over the shared
//! [`workload`](super::workload) (feature `bench`); a backend's bench file only says how
//! to open its store.
//!
//! - `<backend>/append_batch500_durable` and `_no_fsync`: batches of 500 new events;
//! - on a store of `KEV_BENCH_EVENTS` events (default 1,000,000), kept in
//!   `target/bench-stores/<backend>-<n>` and reused by the next run:
//!   `query_namespace_1h_of_<n>` (plain and `_collapse_`), `query_object_1h_of_<n>` and
//!   `query_object_all_of_<n>` (one Pod, the last hour or all history), and `reopen_<n>`; its disk bytes
//!   per event and the CPU time of building it are printed.
//!
//! Next to the store, `bench-query.json` holds the namespace and the hour the query bench
//! reads, so that `cargo xtask bench` can run the real `kev query` on the same store.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};

use super::workload::{fill, namespace_hour_query, object_query, typical_event};
use crate::store::{Store, StoreError};

/// How to open one backend's store.
#[derive(Debug)]
pub struct Backend<S> {
    /// The bench group name: `redb`, `sled`.
    pub name: &'static str,
    /// Opens (or creates) the store in a directory, with or without fsync per commit.
    pub open: fn(&Path, bool) -> Result<S, StoreError>,
}

/// The number of events of the large store: `KEV_BENCH_EVENTS`, default 1,000,000.
pub fn bench_events() -> u64 {
    std::env::var("KEV_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Where the large store of `backend` with `events` events is kept: under the cargo
/// target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn store_dir(backend: &str, events: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target
        .join("bench-stores")
        .join(format!("{backend}-{events}"))
}

/// Apparent length and allocated bytes (what `du` counts) of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let (len, allocated) = if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            (meta.len(), meta.blocks() * 512)
        };
        total = (total.0 + len, total.1 + allocated);
    }
    total
}

/// CPU seconds (user + system) this process used so far.
fn cpu_seconds() -> f64 {
    cpu_time::ProcessTime::try_now().map_or(0.0, |t| t.as_duration().as_secs_f64())
}

/// Appends batches of 500 new events (made outside the timing) to a growing store.
pub fn append<S: Store>(c: &mut Criterion, backend: &Backend<S>) {
    let mut g = c.benchmark_group(backend.name);
    g.throughput(Throughput::Elements(500));
    for durable in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = (backend.open)(dir.path(), durable).unwrap();
        let mut next = 0u64;
        let name = if durable {
            "append_batch500_durable"
        } else {
            "append_batch500_no_fsync"
        };
        let (mut cpu, mut batches) = (0.0, 0u64);
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 500;
                    (next - 500..next).map(typical_event).collect::<Vec<_>>()
                },
                |batch| {
                    let before = cpu_seconds();
                    let out = store.append(&batch, None).unwrap();
                    cpu += cpu_seconds() - before;
                    batches += 1;
                    out
                },
                BatchSize::SmallInput,
            )
        });
        eprintln!(
            "{}/{name}: CPU {:.2} ms per batch = {:.0} events per CPU second",
            backend.name,
            cpu * 1e3 / batches.max(1) as f64,
            (batches * 500) as f64 / cpu.max(1e-9)
        );
    }
    g.finish();
}

/// Opens the large store, building it first (in durable batches of 5,000) unless an
/// earlier run left a complete one.
fn large<S: Store>(backend: &Backend<S>, n: u64) -> PathBuf {
    let dir = store_dir(backend.name, n);
    let complete = dir.exists()
        && (backend.open)(&dir, true)
            .ok()
            .and_then(|s| s.get_state("bench", "built").ok().flatten())
            .is_some();
    if !complete {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let store = (backend.open)(&dir, true).unwrap();
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        fill(&store, 0, n, 5_000).unwrap();
        store.put_state("bench", "built", b"1").unwrap();
        eprintln!(
            "{}: built {n} events in {:.1} s wall, {:.1} s CPU",
            backend.name,
            wall.elapsed().as_secs_f64(),
            cpu_seconds() - cpu
        );
    }
    let q = namespace_hour_query(n, false);
    let json = serde_json::json!({
        "namespace": q.namespace,
        "since": q.since.map(|t| t.to_string()),
        "until": q.until.map(|t| t.to_string()),
    });
    std::fs::write(dir.join("bench-query.json"), json.to_string()).unwrap();
    dir
}

/// Query, collapse and reopen on the large store; prints its disk bytes per event.
pub fn large_store<S: Store>(c: &mut Criterion, backend: &Backend<S>) {
    let n = bench_events();
    let name = backend.name;
    let dir = large(backend, n);
    let store = (backend.open)(&dir, true).unwrap();
    let (bytes, allocated) = dir_bytes(&dir);
    let stats = store.stats().unwrap();
    let per = |b: u64| b as f64 / stats.events as f64;
    eprintln!(
        "{name}: {} events; files {bytes} bytes ({:.0}/event), allocated on disk {allocated} bytes ({:.0}/event); encoded records {:.0} bytes/event",
        stats.events,
        per(bytes),
        per(allocated),
        per(stats.bytes),
    );
    let plain = namespace_hour_query(n, false);
    let collapsed = namespace_hour_query(n, true);
    let object_hour = object_query(n, Some(1));
    let object_all = object_query(n, None);
    let count = |q| store.query(q).unwrap().len();
    eprintln!(
        "{name}: the namespace/hour query returns {} events, {} collapsed; the object query {} in the hour, {} in all",
        count(&plain),
        count(&collapsed),
        count(&object_hour),
        count(&object_all),
    );
    let mut g = c.benchmark_group(name);
    g.bench_function(format!("query_namespace_1h_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&plain).unwrap()))
    });
    g.bench_function(format!("query_namespace_1h_collapse_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&collapsed).unwrap()))
    });
    g.bench_function(format!("query_object_1h_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&object_hour).unwrap()))
    });
    g.bench_function(format!("query_object_all_of_{n}"), |b| {
        b.iter(|| black_box(store.query(&object_all).unwrap()))
    });
    drop(store);
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function(format!("reopen_{n}"), |b| {
        b.iter(|| {
            let s = (backend.open)(&dir, true).unwrap();
            black_box(s.last_seq().unwrap())
        })
    });
    g.finish();
}

/// Every store bench of `backend`, for a `criterion_group!` target.
pub fn store_benches<S: Store>(c: &mut Criterion, backend: &Backend<S>) {
    append(c, backend);
    large_store(c, backend);
}
