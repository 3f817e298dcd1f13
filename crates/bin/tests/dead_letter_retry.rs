//! `kev dead-letter` on the store: a webhook answering 401 gets events dead-lettered; a
//! retry while it still refuses keeps them with the new error; after it recovers a
//! retry delivers each once with its original Idempotency-Key and empties the list;
//! `drop` removes what is left.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

#[derive(Default)]
struct Hook {
    accept: AtomicBool,
    /// Idempotency-Key of each accepted request.
    got: Mutex<Vec<String>>,
}

async fn receive(State(hook): State<Arc<Hook>>, headers: HeaderMap) -> StatusCode {
    if !hook.accept.load(Ordering::SeqCst) {
        return StatusCode::UNAUTHORIZED;
    }
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    hook.got.lock().unwrap().push(key);
    StatusCode::NO_CONTENT
}

fn kev(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(args)
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// Three BackOff events as JSON lines, uids `uid-0..2`, resourceVersions `100..102`.
fn events() -> String {
    let mut lines = String::new();
    for i in 0..3 {
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("web-{i}.17a"), "namespace": "shop", "uid": format!("uid-{i}"), "resourceVersion": format!("{}", 100 + i)},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "shop"},
            "reason": "BackOff", "type": "Warning", "message": "Back-off",
            "lastTimestamp": "2026-11-23T10:00:00Z", "count": 1
        });
        writeln!(lines, "{event}").unwrap();
    }
    lines
}

/// `kev.yaml` in `dir`: the `source` and `server` given, a redb store, one webhook route.
fn write_config(
    dir: &tempfile::TempDir,
    source: &str,
    server: &str,
    hook: std::net::SocketAddr,
) -> std::path::PathBuf {
    let config = dir.path().join("kev.yaml");
    std::fs::write(
        &config,
        format!(
            "source: {source}\nstore: {{type: redb, path: {store}}}\nserver: {server}\nroutes:\n  - name: hook\n    sinks: [{{type: webhook, url: \"http://{hook}/hook\"}}]\n",
            store = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    config
}

/// A webhook receiver on a free port that refuses until `accept` is set.
async fn start_hook() -> (Arc<Hook>, std::net::SocketAddr) {
    let hook = Arc::new(Hook::default());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hook, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_retried_with_their_keys_and_dropped() {
    let (hook, addr) = start_hook().await;

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, events()).unwrap();
    let config = write_config(
        &dir,
        &format!("{{type: replay, path: {}}}", input.display()),
        "{enabled: false, api_listen: \"off\"}",
        addr,
    );
    let config2 = config.clone();
    let run = tokio::task::spawn_blocking(move || kev(&config2, &["run"]));
    assert!(run.await.unwrap().0, "kev run");
    let (_, listed) = kev(&config, &["dead-letter", "list"]);
    assert_eq!(listed.lines().count(), 3, "three dead letters: {listed}");

    // Still refused: kept, with the new error.
    let c = config.clone();
    let (ok, said) = tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "retry"]))
        .await
        .unwrap();
    assert!(!ok, "a retry that keeps letters exits non-zero: {said}");
    assert_eq!(kev(&config, &["dead-letter", "list"]).1.lines().count(), 3);

    // Recovered: the letters of seq 1 and 2 are delivered once each with their keys.
    hook.accept.store(true, Ordering::SeqCst);
    let c = config.clone();
    let (ok, said) =
        tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "retry", "--seq", "1,2"]))
            .await
            .unwrap();
    assert!(ok, "{said}");
    assert!(said.contains("2 delivered"), "{said}");
    let mut keys = hook.got.lock().unwrap().clone();
    keys.sort();
    assert_eq!(keys, vec!["uid-0/100", "uid-1/101"]);
    let (_, left) = kev(&config, &["dead-letter", "list"]);
    assert_eq!(left.lines().count(), 1, "{left}");
    assert!(left.contains("uid-2"));

    let (ok, said) = kev(&config, &["dead-letter", "drop", "--route", "hook"]);
    assert!(ok);
    assert_eq!(said.trim(), "dropped 1 dead letter(s)");
    assert!(kev(&config, &["dead-letter", "list"]).1.is_empty());
    assert_eq!(hook.got.lock().unwrap().len(), 2, "drop sends nothing");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `kev_dead_letters{route="hook"}` on the daemon's `/metrics`, once it equals `want`.
async fn wait_for_gauge(metrics: &str, want: u64) {
    let line = format!("kev_dead_letters{{route=\"hook\"}} {want}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // Connection refused until the daemon listens.
        let text = match reqwest::get(metrics).await {
            Ok(answer) => answer.text().await.unwrap(),
            Err(e) => e.to_string(),
        };
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{line}` in:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// While `kev run` holds the store, `kev dead-letter` goes through its read API's write
/// endpoints: the daemon's own routes send the letters again and the gauge follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_retried_and_dropped_through_the_running_daemon() {
    let (hook, addr) = start_hook().await;
    let dir = tempfile::tempdir().unwrap();
    let (metrics_port, api_port) = (free_port(), free_port());
    let config = write_config(
        &dir,
        "{type: replay, path: \"-\"}",
        &format!("{{listen: \"127.0.0.1:{metrics_port}\", api_listen: \"127.0.0.1:{api_port}\"}}"),
        addr,
    );
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("KEV_LOG_LEVEL", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = daemon.stdin.take().unwrap();
    stdin.write_all(events().as_bytes()).unwrap();
    stdin.flush().unwrap();
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    wait_for_gauge(&metrics, 3).await;

    let c = config.clone();
    let (_, listed) = tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "list"]))
        .await
        .unwrap();
    assert_eq!(listed.lines().count(), 3, "listed by the daemon: {listed}");

    hook.accept.store(true, Ordering::SeqCst);
    let c = config.clone();
    let (ok, said) =
        tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "retry", "--seq", "2"]))
            .await
            .unwrap();
    assert!(ok, "{said}");
    assert!(said.contains("1 delivered"), "{said}");
    assert_eq!(*hook.got.lock().unwrap(), vec!["uid-1/101"]);
    wait_for_gauge(&metrics, 2).await;

    let c = config.clone();
    let (ok, said) = tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "drop"]))
        .await
        .unwrap();
    assert!(ok);
    assert_eq!(said.trim(), "dropped 2 dead letter(s)");
    wait_for_gauge(&metrics, 0).await;
    let c = config.clone();
    let (_, left) = tokio::task::spawn_blocking(move || kev(&c, &["dead-letter", "list"]))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left}");

    drop(stdin);
    let status = tokio::task::spawn_blocking(move || daemon.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    assert_eq!(hook.got.lock().unwrap().len(), 1, "drop sends nothing");
}
