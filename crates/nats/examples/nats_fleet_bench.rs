//! Fleet-mode figures: agents' NATS sinks → JetStream (file storage, acks on) → the
//! central kev's NATS source → pipeline → redb store (fsync per batch).
//!
//! Prints sustained throughput (events/s until all are stored) and end-to-end latency
//! percentiles at a paced 1 000 events/s. The NATS server is the tests' own
//! (`kev_tests::tools::nats_server`: `KEV_NATS_SERVER`, `PATH`, or the pinned one provisioned
//! under `target/`):
//!
//! ```text
//! cargo run --release -p kev-nats --example nats_fleet_bench [EVENTS]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a panic is a failed run

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kev_core::pipeline::{Pipeline, PipelineConfig};
use kev_core::{DefaultNormalizer, Event, NormalizeConfig, Sink, Store, StoredEvent};
use kev_nats::{NatsSinkConfig, NatsSourceConfig};
use kev_storage_redb::{RedbOptions, RedbStore};
use tokio_util::sync::CancellationToken;

const AGENTS: usize = 2;
const BATCH: usize = 500;

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(kev_tests::tools::nats_server())
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }
    (Server(child), format!("nats://127.0.0.1:{port}"))
}

fn event(agent: usize, i: usize, sent: Option<u128>) -> StoredEvent {
    let mut e = Event {
        cluster: format!("cluster-{agent}"),
        namespace: format!("ns-{}", i % 13),
        name: format!("web-{i}.17a"),
        uid: format!("{agent}-{i}"),
        resource_version: i.to_string(),
        reason: "BackOff".into(),
        message: "Back-off restarting failed container web in pod web-0_shop".into(),
        count: 1,
        last_seen: Some(jiff::Timestamp::now()),
        ..Event::default()
    };
    e.regarding.kind = "Pod".into();
    e.regarding.name = format!("web-{}", i % 40);
    if let Some(ns) = sent {
        e.annotations.insert("bench/sent-ns".into(), ns.to_string());
    }
    StoredEvent {
        seq: i as u64 + 1,
        event: e,
    }
}

fn sink(url: &str) -> Arc<dyn Sink> {
    let config: NatsSinkConfig = serde_norway::from_str(&format!(
        "connection: {{servers: [{url}]}}\nstream: {{create: true}}\n"
    ))
    .unwrap();
    Arc::new(config.build().unwrap())
}

/// Starts the central side; returns its store and a stop switch.
fn central(url: &str, dir: &std::path::Path) -> (Arc<RedbStore>, CancellationToken) {
    let config: NatsSourceConfig = serde_norway::from_str(&format!(
        "connection: {{servers: [{url}]}}\nstream: {{create: true}}\nfetch_max_messages: 1000\n"
    ))
    .unwrap();
    let store = Arc::new(RedbStore::open(dir, RedbOptions::default()).unwrap());
    let stop = CancellationToken::new();
    let pipeline = Pipeline::new(
        Box::new(config.build().unwrap()),
        Arc::new(DefaultNormalizer::new(&NormalizeConfig::default()).unwrap()),
        store.clone() as Arc<dyn Store>,
    )
    .config(PipelineConfig {
        batch_max_events: 1000,
        batch_max_delay: Duration::from_millis(5),
        ..PipelineConfig::default()
    });
    let token = stop.clone();
    tokio::spawn(async move { pipeline.run(token).await.unwrap() });
    (store, stop)
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map_or(200_000, |a| a.parse().expect("EVENTS is a number"));
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(&dir.path().join("js"));

    // Throughput: AGENTS sinks publish batches of BATCH concurrently.
    let (store, stop) = central(&url, &dir.path().join("central"));
    let per_agent = total / AGENTS;
    let started = Instant::now();
    let mut agents = Vec::new();
    for agent in 0..AGENTS {
        let sink = sink(&url);
        agents.push(tokio::spawn(async move {
            let events: Vec<StoredEvent> = (0..per_agent).map(|i| event(agent, i, None)).collect();
            for batch in events.chunks(BATCH) {
                sink.deliver(kev_core::Batch::new(batch)).await.unwrap();
            }
        }));
    }
    for a in agents {
        a.await.unwrap();
    }
    let published = started.elapsed();
    while store.stats().unwrap().events < (per_agent * AGENTS) as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stored = started.elapsed();
    let n = (per_agent * AGENTS) as f64;
    println!(
        "throughput: {} events, {AGENTS} agents, batches of {BATCH}: published+acked in {:.2}s ({:.0} events/s), stored centrally in {:.2}s ({:.0} events/s)",
        per_agent * AGENTS,
        published.as_secs_f64(),
        n / published.as_secs_f64(),
        stored.as_secs_f64(),
        n / stored.as_secs_f64()
    );
    stop.cancel();

    // Latency at 1 000 events/s: one agent, one event per millisecond, each its own
    // batch; the central store's log is read every millisecond.
    let latency_events = 5_000;
    let from = store.last_seq().unwrap() + 1;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (store2, stop2) = {
        drop(store);
        central(&url, &dir.path().join("central"))
    };
    let sink = sink(&url);
    let paced = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        for i in 0..latency_events {
            tick.tick().await;
            sink.deliver(kev_core::Batch::new(&[event(99, i, Some(nanos()))]))
                .await
                .unwrap();
        }
    });
    let mut latencies = Vec::with_capacity(latency_events);
    let mut next = from;
    while latencies.len() < latency_events {
        let read = store2.read_log(next, 1000).unwrap();
        let now = nanos();
        for e in &read {
            if let Some(sent) = e.event.annotations.get("bench/sent-ns") {
                latencies.push((now - sent.parse::<u128>().unwrap()) as f64 / 1e6);
            }
            next = e.seq + 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    paced.await.unwrap();
    stop2.cancel();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "latency at 1000 events/s ({latency_events} events, sink ack awaited per event, redb fsync per batch): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
}
