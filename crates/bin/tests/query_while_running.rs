//! `kev query` while `kev run` holds the redb store: the file is locked, so the query
//! goes through the daemon's local read API and sees what the daemon stored.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn event_line(i: usize) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("db-{i}.1"), "namespace": "data", "uid": format!("u-{i}"), "resourceVersion": format!("{}", 10 + i)},
        "involvedObject": {"kind": "StatefulSet", "name": "db", "namespace": "data"},
        "reason": "FailedCreate", "type": "Warning", "message": format!("create Pod db-{i} failed"),
        "lastTimestamp": "2026-11-23T10:00:00Z", "count": 1
    })
    .to_string()
}

#[test]
fn queries_reach_the_running_daemon_through_its_api() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("kev.yaml");
    std::fs::write(
        &config,
        format!(
            "source: {{type: replay, path: \"-\"}}\nstore: {{type: redb, path: {}}}\nserver: {{enabled: false, api_listen: \"127.0.0.1:{port}\"}}\npipeline: {{batch_max_delay: 5ms}}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let kev = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kev"));
        c.args(args)
            .args(["--config", config.to_str().unwrap()])
            .env("KEV_LOG_LEVEL", "warn");
        c
    };

    let mut daemon = kev(&["run"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = daemon.stdin.take().unwrap();
    for i in 0..50 {
        writeln!(stdin, "{}", event_line(i)).unwrap();
    }
    stdin.flush().unwrap();

    // The daemon keeps running (stdin is open); the query must see all 50 through its API.
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        // Until the daemon has created the store, there is nothing to ask.
        let out = kev(&["query", "-o", "json", "--limit", "0"])
            .output()
            .unwrap();
        let n = String::from_utf8(out.stdout).unwrap().lines().count();
        if n == 50 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "{n} events; {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(events, 50);
    // `kev stats` gets the daemon's summary (`/api/v1/summary`), not the events.
    let stats = || {
        let out = kev(&["stats", "--since", "5000d", "--top", "1"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = stats();
    assert!(summary.starts_with("50 events, 50 occurrences"), "{summary}");
    assert!(
        summary.contains("TOP REASONS\n      50  Warning  FailedCreate\n\nTOP OBJECTS\n      50  data/statefulset/db\n"),
        "{summary}"
    );

    drop(stdin);
    assert!(daemon.wait().unwrap().success());
    // With the daemon gone the store opens directly, read-only.
    let out = kev(&["query", "-o", "json", "--limit", "0"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 50);
    assert_eq!(stats(), summary, "the same summary, added up here");
}
