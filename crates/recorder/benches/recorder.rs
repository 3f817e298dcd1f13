//! `publish` latency with a dead API server: the caller's cost (checks, spam filter,
//! queue) must stay far below a reconcile's, whatever the API server does.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kev_recorder::{EventRecorder, NewEvent, ObjectRef, Recorder, RecorderConfig, Reporter};

/// A client for a port nobody listens on.
fn dead_client() -> kube::Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let uri: http::Uri = format!("http://127.0.0.1:{port}")
        .parse()
        .unwrap_or_default();
    kube::Client::try_from(kube::Config::new(uri)).unwrap_or_else(|e| panic!("client: {e}"))
}

fn pod(i: u64) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "shop".into(),
        name: format!("cart-{}", i % 5000),
        uid: format!("uid-{}", i % 5000),
        field_path: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
    let _guard = runtime.enter();
    let reporter = Reporter::new("kev.dev/bench", "bench-0").unwrap_or_else(|e| panic!("{e}"));
    let recorder = Recorder::new(dead_client(), reporter, RecorderConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("recorder");
    let mut i = 0u64;
    // Mixed outcomes: new objects (accepted until the queue is full, then dropped), and
    // repeats on one object (spam-filtered after 25).
    group.bench_function("publish_dead_api_server", |b| {
        b.iter(|| {
            i += 1;
            let e = NewEvent::warning(
                &pod(i),
                "MissingSecret",
                "Reconcile",
                "secret \"db-creds\" not found, password=hunter2",
            );
            black_box(recorder.record(e))
        })
    });
    group.finish();

    // p99 over single calls, printed for the report (criterion gives means).
    let mut samples = Vec::with_capacity(200_000);
    for j in 0..200_000u64 {
        let e = NewEvent::warning(
            &pod(j * 7),
            "MissingSecret",
            "Reconcile",
            "secret \"db-creds\" not found",
        );
        let start = Instant::now();
        black_box(recorder.record(e));
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "recorder/publish_dead_api_server: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?} over {} calls; {:?}",
        at(0.5),
        at(0.99),
        at(0.999),
        samples.last().copied().unwrap_or(Duration::ZERO),
        samples.len(),
        recorder.stats()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
