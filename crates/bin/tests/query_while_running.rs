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

fn kev(config: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kev"));
    c.args(args)
        .args(["--config", config.to_str().unwrap()])
        .env("KEV_LOG_LEVEL", "warn");
    c
}

/// A `kev run` with the test's config, reading events from its stdin, which already has
/// `events` events.
struct Daemon {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Daemon {
    fn start(events: usize) -> Self {
        Self::start_with(&(0..events).map(event_line).collect::<Vec<_>>())
    }

    fn start_with(lines: &[String]) -> Self {
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
        let mut child = kev(&config, &["run"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut text = String::new();
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        Self {
            _dir: dir,
            config,
            child,
            stdin: Some(stdin),
        }
    }

    fn kev(&self, args: &[&str]) -> Command {
        kev(&self.config, args)
    }

    /// `kev query -o json --limit 0` once it has `n` lines (the daemon creates the store
    /// and stores the events meanwhile): stdout lines and stderr.
    fn query_until(&self, n: usize) -> (usize, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self
                .kev(&["query", "-o", "json", "--limit", "0"])
                .output()
                .unwrap();
            let lines = String::from_utf8(out.stdout).unwrap().lines().count();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if lines == n {
                return (lines, stderr);
            }
            assert!(Instant::now() < deadline, "{lines} events; {stderr}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Closes stdin: the replay ends and the daemon exits.
    fn stop(&mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

#[test]
fn queries_reach_the_running_daemon_through_its_api() {
    let mut daemon = Daemon::start(50);
    // The daemon keeps running (stdin is open); the query must see all 50 through its API.
    let (events, stderr) = daemon.query_until(50);
    assert_eq!(events, 50);
    assert!(!stderr.contains("at most"), "{stderr}");
    // `kev stats` gets the daemon's summary (`/api/v1/summary`), not the events.
    let stats = |daemon: &Daemon| {
        let out = daemon
            .kev(&["stats", "--since", "5000d", "--top", "1"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = stats(&daemon);
    assert!(
        summary.starts_with("50 events, 50 occurrences"),
        "{summary}"
    );
    assert!(
        summary.contains("TOP REASONS\n      50  Warning  FailedCreate\n\nTOP OBJECTS\n      50  data/statefulset/db\n"),
        "{summary}"
    );

    daemon.stop();
    // With the daemon gone the store opens directly, read-only.
    assert_eq!(daemon.query_until(50).0, 50);
    assert_eq!(stats(&daemon), summary, "the same summary, added up here");
}

#[test]
fn a_query_cut_by_the_daemon_says_so() {
    let mut daemon = Daemon::start(10_001);
    let (_, stderr) = daemon.query_until(10_000);
    assert!(
        stderr.contains("answers at most 10000 events per query"),
        "{stderr}"
    );
    daemon.stop();
    let (_, stderr) = daemon.query_until(10_001);
    assert!(
        !stderr.contains("at most"),
        "read directly, nothing is cut: {stderr}"
    );
}

#[test]
fn read_commands_print_what_was_asked_and_warnings_only_by_default() {
    let mut daemon = Daemon::start(5);
    daemon.query_until(5);
    for args in [
        &["query", "-A"][..],
        &["stats", "--since", "5000d"],
        &["dead-letter", "list"],
    ] {
        let out = daemon
            .kev(args)
            .env_remove("KEV_LOG_LEVEL")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    }
    // `--log-level info` brings the daemon hand-over line back.
    let out = daemon
        .kev(&["query", "-A", "--log-level", "info"])
        .env_remove("KEV_LOG_LEVEL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INFO") && stderr.contains("running kev"),
        "{stderr}"
    );
    daemon.stop();
}

fn pod_event(uid: &str, kind: &str, object: &str, minute: u32) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{object}.{uid}"), "namespace": "shop", "uid": uid, "resourceVersion": "1"},
        "involvedObject": {"kind": kind, "name": object, "namespace": "shop"},
        "reason": "BackOff", "type": "Warning", "message": format!("{uid} of {object}"),
        "lastTimestamp": format!("2026-11-23T10:{minute:02}:00Z"), "count": 1
    })
    .to_string()
}

/// `kev query --for deployment/web`: the Deployment's events and those of the
/// ReplicaSets and Pods it owned (replay: chains from the names), with their path in
/// OBJECT, the chain in `-o json`; through the daemon's API while it runs, and from the
/// store once it stopped. Another Deployment's pods and a `--kind` query stay apart.
#[test]
fn query_for_follows_the_owner_chains() {
    let lines = [
        pod_event("d1", "Deployment", "web", 0),
        pod_event("r1", "ReplicaSet", "web-7d4b9c8f6", 1),
        pod_event("p1", "Pod", "web-7d4b9c8f6-x2x4z", 2),
        pod_event("p2", "Pod", "web-6c5d4b8f29-bcdfg", 3),
        pod_event("o1", "Pod", "api-5f6b8d9c47-qwxzr", 4),
    ];
    let mut daemon = Daemon::start_with(&lines);
    daemon.query_until(5);
    let query = |daemon: &Daemon, args: &[&str]| {
        let out = daemon
            .kev(
                &[
                    &[
                        "query",
                        "--for",
                        "deploy/web",
                        "-n",
                        "shop",
                        "--since",
                        "5000d",
                    ],
                    args,
                ]
                .concat(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let check = |daemon: &Daemon| {
        let json = query(daemon, &["-o", "json"]);
        let events: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let uids: Vec<&str> = events.iter().map(|e| e["uid"].as_str().unwrap()).collect();
        assert_eq!(uids, ["d1", "r1", "p1", "p2"], "{json}");
        assert_eq!(events[2]["owners"]["links"][0]["name"], "web-7d4b9c8f6");
        assert_eq!(events[2]["owners"]["links"][1]["name"], "web");
        assert_eq!(events[2]["owners"]["inferred"], true);
        let table = query(daemon, &[]);
        assert!(table.lines().next().unwrap().contains("OBJECT"), "{table}");
        assert!(
            table.contains("rs/web-7d4b9c8f6 > pod/web-7d4b9c8f6-x2x4z"),
            "{table}"
        );
        assert!(
            table.contains("rs/web-6c5d4b8f29 > pod/web-6c5d4b8f29-bcdfg"),
            "{table}"
        );
        assert!(table.contains(" deploy/web "), "{table}");
        assert!(!table.contains("api-"), "{table}");
    };
    check(&daemon);
    daemon.stop();
    check(&daemon);
    let out = daemon
        .kev(&[
            "query",
            "--kind",
            "Deployment",
            "--name",
            "web",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        1,
        "only its own"
    );
    let bad = daemon.kev(&["query", "--for", "web"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--for \"web\": expected KIND/NAME"));
}
