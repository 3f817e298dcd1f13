//! `kev dead-letter` on the store: a webhook answering 401 gets events dead-lettered; a
//! retry while it still refuses keeps them with the new error; after it recovers a
//! retry delivers each once with its original Idempotency-Key and empties the list;
//! `drop` removes what is left.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::io::Write;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_retried_with_their_keys_and_dropped() {
    let hook = Arc::new(Hook::default());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let mut file = std::fs::File::create(&input).unwrap();
    for i in 0..3 {
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("web-{i}.17a"), "namespace": "shop", "uid": format!("uid-{i}"), "resourceVersion": format!("{}", 100 + i)},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "shop"},
            "reason": "BackOff", "type": "Warning", "message": "Back-off",
            "lastTimestamp": "2026-11-23T10:00:00Z", "count": 1
        });
        writeln!(file, "{event}").unwrap();
    }
    let config = dir.path().join("kev.yaml");
    std::fs::write(
        &config,
        format!(
            "source: {{type: replay, path: {input}}}\nstore: {{type: redb, path: {store}}}\nserver: {{enabled: false, api_listen: \"off\"}}\nroutes:\n  - name: hook\n    sinks: [{{type: webhook, url: \"http://{addr}/hook\"}}]\n",
            input = input.display(),
            store = dir.path().join("data").display(),
        ),
    )
    .unwrap();
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
