//! Ingest bench: kev (kube source → pipeline → memory store, and → the durable redb
//! store the daemon runs with) against a bare kube
//! client that only counts, on the same pre-rendered stream of ~760-byte Events from
//! the fake API server running in its own process; and the lag from creation to
//! stored at 1 000 events/s.
//!
//! `cargo bench -p kev-tests --bench ingest` prints one table. Each measured client
//! runs in its own child process, so CPU seconds and peak RSS are the client's alone.
//! `KEV_BENCH_EVENTS` (default 100 000) and `KEV_BENCH_RUNS` (default 3; the median
//! is shown) change the workload; `KEV_BENCH_REDB_CACHE_MIB` the redb rows' page cache
//! (default: the daemon's), `KEV_BENCH_BATCH` the pipeline's batch size (default 500).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: failing loudly is right

// The allocator the `kev` binary runs with, so the figure is the daemon's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use kev_core::pipeline::{Pipeline, PipelineConfig};
use kev_core::store::Checkpoint;
use kev_core::{MemoryStore, Store};
use kev_kube_source::{KubeSource, KubeSourceConfig};
use kev_storage_redb::{RedbOptions, RedbStore};
use kev_tests::SimpleNormalizer;
use kev_tests::fake_api::{FakeApiServer, FakeConfig, core_event, now_micro};
use kev_tests::observed_store::ObservedStore;
use kube::api::{Api, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

const ROLE: &str = "KEV_BENCH_ROLE";

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("server") => server_role(),
        Ok("client") => client_role(),
        Ok("lag") => lag_role(),
        _ => orchestrate(),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn events() -> u64 {
    env_u64("KEV_BENCH_EVENTS").unwrap_or(100_000)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An Event whose core/v1 JSON is about 760 bytes.
fn sized_event(i: u64) -> serde_json::Value {
    let ns = format!("bench-{}", i % 50);
    let mut e = core_event(&ns, &format!("web-{i:08}.17a2b3c4d5e6f7a8"), "BackOff");
    e["message"] = serde_json::Value::from(format!(
        "Back-off restarting failed container app in pod web-{i:08} (attempt {i}); {}",
        "x".repeat(62)
    ));
    e
}

// ---- the fake API server in its own process ----

fn server_role() {
    let n = events();
    runtime().block_on(async move {
        let server = FakeApiServer::start_with(FakeConfig {
            record_served: false,
            ..FakeConfig::default()
        })
        .await
        .unwrap();
        // rv 1: a marker the watch-only runs resume after.
        server.create("bench-0", sized_event(u64::MAX)).unwrap();
        for i in 0..n {
            let ns = format!("bench-{}", i % 50);
            server.create(&ns, sized_event(i)).unwrap();
        }
        let size = server
            .get("bench-1", "web-00000001.17a2b3c4d5e6f7a8")
            .unwrap()
            .core_bytes
            .len();
        println!("READY {} {size}", server.url());
        // Serve until the parent closes stdin.
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin()
                .read_line(&mut line)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        })
        .await
        .unwrap();
    });
}

// ---- one measured client per process ----

#[derive(Debug, Serialize, Deserialize, Clone, Copy)]
struct Measured {
    events: u64,
    secs: f64,
    cpu_secs: f64,
    peak_rss_kb: u64,
}

/// utime + stime of this process, from /proc (clock ticks of 10 ms).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn client_role() {
    let mode = std::env::var("KEV_BENCH_MODE").unwrap();
    let url: http::Uri = std::env::var("KEV_BENCH_URL").unwrap().parse().unwrap();
    let n = events();
    let measured = runtime().block_on(async move {
        // The bare clients as kube-rs makes them; kev's with the daemon's `qps`/`burst`
        // limit, which also paces its owner lookups (one GET per new object).
        let config = kube::Config::new(url);
        let client = if mode.starts_with("bare") {
            kube::Client::try_from(config).unwrap()
        } else {
            kev_kube_source::client_from(config, &KubeSourceConfig::default()).unwrap()
        };
        let cpu0 = cpu_secs();
        let t0 = Instant::now();
        match mode.as_str() {
            "kev-list" | "kev-watch" | "kev-redb-list" | "kev-redb-watch" => {
                // The redb rows: the daemon's default store, durable (fsync per commit).
                let dir = tempfile::tempdir().unwrap();
                let store: Arc<dyn Store> = if mode.starts_with("kev-redb") {
                    let mut options = RedbOptions::default();
                    if let Some(mib) = env_u64("KEV_BENCH_REDB_CACHE_MIB") {
                        options.cache_bytes = (mib as usize) << 20;
                    }
                    Arc::new(RedbStore::open(dir.path(), options).unwrap())
                } else {
                    Arc::new(MemoryStore::new())
                };
                if mode.ends_with("watch") {
                    let cp = Checkpoint {
                        source: "kube".into(),
                        position: r#"{"core":"1"}"#.into(),
                    };
                    store.append(&[], Some(&cp)).unwrap();
                }
                let config = KubeSourceConfig {
                    stall_timeout: Duration::from_secs(60),
                    ..KubeSourceConfig::default()
                };
                let source = KubeSource::with_client(client, config).unwrap();
                let mut pipeline_config = PipelineConfig::default();
                if let Some(n) = env_u64("KEV_BENCH_BATCH") {
                    pipeline_config.batch_max_events = n as usize;
                }
                let pipeline = Pipeline::new(
                    Box::new(source),
                    Arc::new(SimpleNormalizer),
                    Arc::clone(&store),
                )
                .config(pipeline_config);
                // The marker event is listed too in the list run.
                let want = if mode.ends_with("list") { n + 1 } else { n };
                tokio::spawn(pipeline.run(CancellationToken::new()));
                while store.last_seq().unwrap() < want {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            // The source alone, driven by hand: what the watch costs without the pipeline.
            "source-list" | "source-watch" => {
                use kev_core::{EventSource, SourceItem};
                let config = KubeSourceConfig {
                    stall_timeout: Duration::from_secs(60),
                    ..KubeSourceConfig::default()
                };
                let mut source = KubeSource::with_client(client, config).unwrap();
                let (cp, want) = if mode == "source-watch" {
                    (
                        Some(Checkpoint {
                            source: "kube".into(),
                            position: r#"{"core":"1"}"#.into(),
                        }),
                        n,
                    )
                } else {
                    (None, n + 1)
                };
                source.start(cp).await.unwrap();
                let mut count = 0;
                while count < want {
                    if let SourceItem::Event { .. } = source.next().await.unwrap().unwrap() {
                        count += 1;
                    }
                }
            }
            "bare-list" => {
                let api: Api<CoreEvent> = Api::all(client);
                let stream = watcher(api, watcher::Config::default());
                futures::pin_mut!(stream);
                let mut count = 0;
                while count < n + 1 {
                    match stream.next().await.unwrap().unwrap() {
                        watcher::Event::InitApply(_) | watcher::Event::Apply(_) => count += 1,
                        _ => {}
                    }
                }
            }
            "bare-watch" => {
                let api: Api<CoreEvent> = Api::all(client);
                let stream = api
                    .watch(&WatchParams::default().timeout(290), "1")
                    .await
                    .unwrap();
                futures::pin_mut!(stream);
                let mut count = 0;
                while count < n {
                    if let WatchEvent::Added(_) = stream.next().await.unwrap().unwrap() {
                        count += 1;
                    }
                }
            }
            other => panic!("unknown mode {other}"),
        }
        Measured {
            events: n,
            secs: t0.elapsed().as_secs_f64(),
            cpu_secs: cpu_secs() - cpu0,
            peak_rss_kb: peak_rss_kb(),
        }
    });
    println!("{}", serde_json::to_string(&measured).unwrap());
    std::process::exit(0);
}

// ---- lag at 1 000 events/s ----

#[derive(Debug, Serialize, Deserialize)]
struct Lag {
    batch_delay_ms: u64,
    events: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn lag_role() {
    let delay = Duration::from_millis(
        std::env::var("KEV_BENCH_BATCH_DELAY_MS")
            .unwrap()
            .parse()
            .unwrap(),
    );
    let lag = runtime().block_on(async move {
        let server = FakeApiServer::start_with(FakeConfig {
            record_served: false,
            ..FakeConfig::default()
        })
        .await
        .unwrap();
        let store = Arc::new(ObservedStore::default());
        let source = KubeSource::with_client(server.client(), KubeSourceConfig::default()).unwrap();
        let health = source.health();
        let pipeline = Pipeline::new(
            Box::new(source),
            Arc::new(SimpleNormalizer),
            Arc::clone(&store) as Arc<dyn Store>,
        )
        .config(PipelineConfig {
            batch_max_delay: delay,
            ..PipelineConfig::default()
        });
        tokio::spawn(pipeline.run(CancellationToken::new()));
        while !health.is_ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let total = 5_000u64;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        for i in 0..total {
            tick.tick().await;
            let mut e = sized_event(i);
            e["eventTime"] = serde_json::Value::from(now_micro());
            server.create(&format!("bench-{}", i % 50), e).unwrap();
        }
        while store.last_seq().unwrap() < total {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut lags = store.lags();
        lags.sort_by(f64::total_cmp);
        let pct = |p: f64| lags[((lags.len() as f64 - 1.0) * p).round() as usize] * 1000.0;
        Lag {
            batch_delay_ms: delay.as_millis() as u64,
            events: lags.len(),
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        }
    });
    println!("{}", serde_json::to_string(&lag).unwrap());
    std::process::exit(0);
}

// ---- the parent: start the server, run each client, print the table ----

fn child(envs: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn last_line(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "bench child failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

fn median(mut v: Vec<Measured>) -> Measured {
    v.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    v[v.len() / 2]
}

fn orchestrate() {
    let n = events();
    let runs: usize = std::env::var("KEV_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    eprintln!("ingest bench: preloading {n} events into the fake API server…");
    let mut server = child(&[(ROLE, "server".into())]);
    let mut ready = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let mut parts = ready.split_whitespace().skip(1);
    let url = parts.next().unwrap().to_owned();
    let size: usize = parts.next().unwrap().parse().unwrap();

    let modes = [
        "bare-list",
        "source-list",
        "kev-list",
        "kev-redb-list",
        "bare-watch",
        "source-watch",
        "kev-watch",
        "kev-redb-watch",
    ];
    let mut results: Vec<(&str, Vec<Measured>)> = modes.iter().map(|m| (*m, Vec::new())).collect();
    for run in 0..runs {
        for (mode, out) in &mut results {
            let line = last_line(child(&[
                (ROLE, "client".into()),
                ("KEV_BENCH_MODE", (*mode).into()),
                ("KEV_BENCH_URL", url.clone()),
            ]));
            let m: Measured = serde_json::from_str(&line).unwrap();
            eprintln!(
                "  run {run} {mode}: {:.0} events/s",
                m.events as f64 / m.secs
            );
            out.push(m);
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();

    println!(
        "\ningest of {n} core/v1 Events (~{size} bytes each) from the fake API server over loopback, median of {runs}"
    );
    println!(
        "{:<14} {:>12} {:>10} {:>16} {:>14}",
        "client", "events/s", "secs", "CPU s/100k ev", "peak RSS MiB"
    );
    let mut rate = std::collections::HashMap::new();
    for (mode, v) in results {
        let m = median(v);
        let r = m.events as f64 / m.secs;
        rate.insert(mode, r);
        println!(
            "{mode:<14} {r:>12.0} {:>10.3} {:>16.3} {:>14.1}",
            m.secs,
            m.cpu_secs * 100_000.0 / m.events as f64,
            m.peak_rss_kb as f64 / 1024.0
        );
    }
    println!(
        "kev / bare, list+watch (bare: kube-runtime watcher): {:.2}",
        rate["kev-list"] / rate["bare-list"]
    );
    println!(
        "kev / bare, watch only (bare: Api::watch counting):  {:.2}",
        rate["kev-watch"] / rate["bare-watch"]
    );
    println!(
        "kev → redb durable / bare: list+watch {:.2}, watch only {:.2}",
        rate["kev-redb-list"] / rate["bare-list"],
        rate["kev-redb-watch"] / rate["bare-watch"]
    );
    println!(
        "source alone / bare: list+watch {:.2}, watch only {:.2}",
        rate["source-list"] / rate["bare-list"],
        rate["source-watch"] / rate["bare-watch"]
    );

    println!("\nlag from creation at the fake server to stored, 5 000 events at 1 000 events/s");
    println!(
        "{:<22} {:>8} {:>8} {:>8}",
        "pipeline batch delay", "p50 ms", "p99 ms", "max ms"
    );
    // 10 ms is the default `batch_max_delay`; the issue's p99 < 50 ms is for the defaults.
    for delay in ["10", "50"] {
        let line = last_line(child(&[
            (ROLE, "lag".into()),
            ("KEV_BENCH_BATCH_DELAY_MS", delay.into()),
        ]));
        let l: Lag = serde_json::from_str(&line).unwrap();
        println!(
            "{:<22} {:>8.2} {:>8.2} {:>8.2}",
            format!("{} ms", l.batch_delay_ms),
            l.p50_ms,
            l.p99_ms,
            l.max_ms
        );
    }
    let _ = std::io::stdout().flush();
}
