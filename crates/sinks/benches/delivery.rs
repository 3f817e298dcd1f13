//! Delivery figures through kev's real pipeline (source → ingest → store → route →
//! webhook sink → a local axum server), one JSON result per workload under
//! `target/kev-bench/` that `cargo xtask bench` prints as a second table:
//!
//! - `delivery/latency_1k_per_s/{redb,memory}`: a source paced at 1 000 events/s for
//!   `KEV_BENCH_SECS` (default 20) seconds; p50/p99/max of `kev_sink_latency_seconds`
//!   (stored → acknowledged, cursor committed). Goal: p99 < 100 ms.
//! - `delivery/backlog_drain/redb`: `KEV_BENCH_BACKLOG` (default 1 000 000) events stored
//!   while no route ran, then one route to the webhook in batches of 100 (a batch array
//!   per request): events/s and the process's VmRSS sampled every 100 ms over the drain.
//!
//! `cargo bench -p kev-sinks --bench delivery [-- latency|backlog]`
//!
//! Stores use their defaults: redb durable (fsync per commit), 64 MiB page cache. The
//! receiver runs in the same process (it keeps nothing), so the RSS is an upper bound.

// A panic in a bench is a failed bench, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/receiver.rs"]
mod receiver;

use kev_core::testkit::pipeline::PassThrough;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kev_core::filter::KeepAll;
use kev_core::metrics as m;
use kev_core::pipeline::{Pipeline, Route, SinkPolicy};
use kev_core::source::{EventSource, RawEvent, SourceError, SourceItem};
use kev_core::testkit::sink::sample_events;
use kev_core::{Checkpoint, Event, MemoryStore, Store};
use kev_sinks::webhook::WebhookSinkConfig;
use kev_storage_redb::{RedbOptions, RedbStore};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const RATE_PER_SEC: u64 = 1_000;
const SINK_BATCH: usize = 100;

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with `-` is a filter.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |id: &str| filter.as_deref().is_none_or(|f| id.contains(f));
    let secs = env_u64("KEV_BENCH_SECS", 20);
    let backlog = env_u64("KEV_BENCH_BACKLOG", 1_000_000);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("a metrics recorder was already installed");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(receiver::Receiver::start_unrecorded());
    let url = receiver.url("/bench");

    for backend in ["redb", "memory"] {
        let id = format!("delivery/latency_1k_per_s/{backend}");
        if !wanted(&id) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = open(backend, &dir);
        let result = rt.block_on(latency(store, &url, secs, &snapshotter));
        report(&id, &result);
    }
    let id = "delivery/backlog_drain/redb";
    if wanted(id) {
        let dir = tempfile::tempdir().unwrap();
        let result = rt.block_on(backlog_drain(dir.path(), &url, backlog));
        report(id, &result);
    }
    drop(receiver);
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
        .unwrap_or(default)
}

fn open(backend: &str, dir: &tempfile::TempDir) -> Arc<dyn Store> {
    match backend {
        "redb" => Arc::new(RedbStore::open(dir.path(), RedbOptions::default()).unwrap()),
        _ => Arc::new(MemoryStore::new()),
    }
}

fn webhook_route(url: &str) -> Route {
    let sink = WebhookSinkConfig::new(url).batch(true).build().unwrap();
    Route::new("bench", Arc::new(KeepAll))
        .sink(Arc::new(sink))
        .policy(SinkPolicy {
            max_events: SINK_BATCH,
            ..SinkPolicy::default()
        })
}

/// Runs the pipeline with a source paced at [`RATE_PER_SEC`] for `secs` seconds.
async fn latency(store: Arc<dyn Store>, url: &str, secs: u64, snapshots: &Snapshotter) -> Value {
    let total = secs * RATE_PER_SEC;
    let _ = snapshots.snapshot(); // forget what an earlier workload recorded
    let cpu = cpu_seconds();
    let started = Instant::now();
    let report = Pipeline::new(
        Box::new(PacedSource::new(total, RATE_PER_SEC)),
        Arc::new(PassThrough),
        store,
    )
    .route(webhook_route(url))
    .run(CancellationToken::new())
    .await
    .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    assert_eq!(report.stored, total, "every event stored");
    assert_eq!(
        report.routes[0].delivered, total,
        "every event delivered: {report:?}"
    );
    let snapshot = snapshots.snapshot().into_vec();
    let mut seconds = samples(&snapshot, m::SINK_LATENCY_SECONDS);
    // The slowest store append of the ingest: a disk that stalls shows here too.
    let append_max = samples(&snapshot, m::PIPELINE_BATCH_SECONDS)
        .into_iter()
        .fold(0.0, f64::max);
    assert!(
        seconds.len() as u64 >= total * 9 / 10,
        "only {} of {total} events measured",
        seconds.len()
    );
    seconds.sort_by(f64::total_cmp);
    let q =
        |p: f64| seconds[((seconds.len() as f64 * p).ceil() as usize).clamp(1, seconds.len()) - 1];
    json!({
        "events": total,
        "measured": seconds.len(),
        "p50_ms": q(0.50) * 1e3,
        "p99_ms": q(0.99) * 1e3,
        "max_ms": q(1.0) * 1e3,
        "slowest_append_ms": append_max * 1e3,
        "wall_s": wall,
        "cpu_s": cpu,
        "summary": format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (slowest store append {:.1} ms)",
            q(0.50) * 1e3, q(0.99) * 1e3, q(1.0) * 1e3, append_max * 1e3
        ),
    })
}

type Snapshot = Vec<(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// Every sample of histogram `name` recorded since the previous snapshot.
fn samples(snapshot: &Snapshot, name: &str) -> Vec<f64> {
    snapshot
        .iter()
        .filter(|(k, ..)| k.key().name() == name)
        .flat_map(|(.., v)| match v {
            DebugValue::Histogram(h) => h.iter().map(|s| s.0).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Stores `n` events with no route running, then drains them to the webhook.
async fn backlog_drain(dir: &std::path::Path, url: &str, n: u64) -> Value {
    let fill_started = Instant::now();
    {
        let store = RedbStore::open(dir, RedbOptions::default()).unwrap();
        let mut next = 1;
        while next <= n {
            let chunk = 10_000.min(n - next + 1) as usize;
            let events: Vec<Event> = sample_events(next, chunk)
                .into_iter()
                .map(|s| s.event)
                .collect();
            store.append(&events, None).unwrap();
            next += chunk as u64;
        }
    }
    let fill_s = fill_started.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(dir.join(kev_storage_redb::FILE_NAME))
        .map(|m| m.len())
        .unwrap_or(0);

    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir, RedbOptions::default()).unwrap());
    let handle = kev_core::store::AsyncStore::new(Arc::clone(&store));
    let shutdown = CancellationToken::new();
    let rss_start = rss_kib();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let run = tokio::spawn(
        Pipeline::new(
            Box::new(IdleSource),
            Arc::new(PassThrough),
            Arc::clone(&store),
        )
        .route(webhook_route(url))
        .run(shutdown.clone()),
    );
    let mut rss = vec![rss_start];
    // VmRSS when the drain passed each tenth of the backlog.
    let mut by_tenth = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rss.push(rss_kib());
        let cursor = handle.cursor("bench").await.unwrap();
        while by_tenth.len() < 10 && cursor >= n * (by_tenth.len() as u64 + 1) / 10 {
            by_tenth.push(mib(rss_kib()).round());
        }
        if cursor >= n {
            break;
        }
        assert!(
            !run.is_finished(),
            "the pipeline stopped at cursor {cursor}"
        );
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    shutdown.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.routes[0].delivered, n, "every event delivered once");
    let rss_end = *rss.last().unwrap_or(&0);
    let rss_peak = rss.iter().copied().max().unwrap_or(0);
    // The sample at the middle of the drain, to tell growth with the backlog from a cache
    // that fills once.
    let rss_mid = rss[rss.len() / 2];
    let rate = n as f64 / wall;
    json!({
        "events": n,
        "events_per_s": rate,
        "fill_s": fill_s,
        "store_file_mib": file_bytes as f64 / (1 << 20) as f64,
        "rss_start_mib": mib(rss_start),
        "rss_mid_mib": mib(rss_mid),
        "rss_peak_mib": mib(rss_peak),
        "rss_end_mib": mib(rss_end),
        "rss_by_tenth_mib": by_tenth,
        "wall_s": wall,
        "cpu_s": cpu,
        "summary": format!(
            "{:.0} events/s; RSS start {:.0} / mid {:.0} / peak {:.0} / end {:.0} MiB; by tenth {:?}",
            rate, mib(rss_start), mib(rss_mid), mib(rss_peak), mib(rss_end), by_tenth
        ),
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of this process (all threads), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the whole line; in clock ticks of 1/100 s
    // (USER_HZ on Linux).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn report(id: &str, result: &Value) {
    println!(
        "{id}: {} (wall {:.1} s, cpu {:.1} s)",
        result["summary"].as_str().unwrap_or(""),
        result["wall_s"].as_f64().unwrap_or(0.0),
        result["cpu_s"].as_f64().unwrap_or(0.0)
    );
    let dir = std::env::var_os("KEV_BENCH_OUT").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/kev-bench"
            ))
        },
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    let mut result = result.clone();
    result["id"] = json!(id);
    let file = dir.join(format!("{}.json", id.replace('/', "-")));
    std::fs::write(&file, serde_json::to_vec_pretty(&result).unwrap()).unwrap();
}

/// Yields `total` distinct events, the i-th at `start + i / rate`.
#[derive(Debug)]
struct PacedSource {
    sent: u64,
    total: u64,
    every: Duration,
    start: Option<tokio::time::Instant>,
}

impl PacedSource {
    fn new(total: u64, rate: u64) -> Self {
        Self {
            sent: 0,
            total,
            every: Duration::from_secs(1) / rate as u32,
            start: None,
        }
    }
}

#[async_trait]
impl EventSource for PacedSource {
    fn id(&self) -> &str {
        "paced"
    }
    fn kind(&self) -> &'static str {
        "replay"
    }
    async fn start(&mut self, _checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        Ok(())
    }
    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        if self.sent == self.total {
            return None;
        }
        let start = *self.start.get_or_insert_with(tokio::time::Instant::now);
        tokio::time::sleep_until(start + self.every * self.sent as u32).await;
        self.sent += 1;
        let event = sample_events(self.sent, 1).pop()?.event;
        Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(Box::new(event)),
            location: "paced".into(),
            checkpoint: None,
        }))
    }
}

/// A source with nothing to say: the backlog is already stored.
#[derive(Debug)]
struct IdleSource;

#[async_trait]
impl EventSource for IdleSource {
    fn id(&self) -> &str {
        "idle"
    }
    fn kind(&self) -> &'static str {
        "replay"
    }
    async fn start(&mut self, _checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        Ok(())
    }
    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        std::future::pending().await
    }
}
