//! The whole pipeline: replay of JSON lines → default normalizer → memory store → one
//! route with a no-op sink. Issue 2's figure: ≥ 150k events/s. Besides criterion's
//! wall-clock rate it prints the CPU time per event of the whole process.
//!
//! `cargo bench -p kev-core --bench pipeline` (about 30 s).
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is a failed bench

// The allocator the `kev` binary runs with, so the figure is the daemon's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, Route};
use kev_core::{
    Batch, DefaultNormalizer, MemoryStore, NormalizeConfig, ReplaySource, Sink, SinkError,
};
use tokio_util::sync::CancellationToken;

const EVENTS: usize = 20_000;

/// Acknowledges everything at once: measures kev, not a receiver.
#[derive(Debug)]
struct NoOp;

#[async_trait]
impl Sink for NoOp {
    fn name(&self) -> &str {
        "noop"
    }
    async fn deliver(&self, _batch: Batch<'_>) -> Result<(), SinkError> {
        Ok(())
    }
}

/// ~1 KiB core/v1 Events, one per line, distinct uids.
fn input(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("events.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..EVENTS {
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {
                "name": format!("web-{}-7d4b9c8f6d-x2kq9.17a{i:08x}", i % 50), "namespace": format!("shop-{}", i % 20),
                "uid": format!("0b6c1f2e-{i:08x}-4c1d-9a55-3e2f1a7b9c0d"), "resourceVersion": format!("{}", 100_000 + i),
                "creationTimestamp": "2026-11-23T10:00:00Z"
            },
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": format!("shop-{}", i % 20),
                "name": format!("web-{}-7d4b9c8f6d-x2kq9", i % 50), "uid": "5f8e2c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                "fieldPath": "spec.containers{app}", "resourceVersion": "99812"},
            "reason": "BackOff", "type": "Warning",
            "message": "Back-off restarting failed container app in pod web-7d4b9c8f6d-x2kq9_shop(5f8e2c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6): the last run exited with code 1 after connecting to postgres://db.shop.svc:5432 failed with connection refused",
            "source": {"component": "kubelet", "host": "ip-10-0-12-34.eu-west-1.compute.internal"},
            "firstTimestamp": "2026-11-23T10:00:00Z", "lastTimestamp": "2026-11-23T10:05:00Z", "count": 7,
            "reportingComponent": "kubelet", "reportingInstance": "ip-10-0-12-34.eu-west-1.compute.internal"
        });
        writeln!(file, "{event}").unwrap();
    }
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = input(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    // Process CPU (all threads) beside criterion's wall clock: on a shared machine the
    // wall clock says how busy the others were, the CPU seconds what kev cost.
    let mut cpu = Duration::ZERO;
    let mut runs = 0u32;
    group.bench_function("replay_memory_noop_20k", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            let cpu0 = ProcessTime::now();
            for _ in 0..iters {
                runtime.block_on(run_once(&path));
            }
            cpu += cpu0.elapsed();
            runs += u32::try_from(iters).unwrap();
            started.elapsed()
        });
    });
    group.finish();
    if runs > 0 {
        let per_event = cpu.as_secs_f64() / f64::from(runs) / EVENTS as f64;
        println!(
            "pipeline/replay_memory_noop_20k: {:.2} µs CPU per event (all threads), {:.0} events per CPU second, over {runs} runs",
            per_event * 1e6,
            1.0 / per_event
        );
    }
}

async fn run_once(path: &std::path::Path) {
    let source = ReplaySource::open(path.to_str().unwrap()).unwrap();
    let normalizer = Arc::new(DefaultNormalizer::new(&NormalizeConfig::default()).unwrap());
    let report = Pipeline::new(Box::new(source), normalizer, Arc::new(MemoryStore::new()))
        .route(Route::new("noop", Arc::new(KeepAll)).sink(Arc::new(NoOp)))
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.stored, EVENTS as u64);
}

criterion_group!(benches, bench);
criterion_main!(benches);
