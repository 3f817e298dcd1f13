//! The `kev` binary as a user runs it: replay to stdout, history in redb, queries,
//! config validation and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kev_core::Event;

/// The bundled sample the README's first command replays.
fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events/cluster-events.json")
}

/// Events in the sample: the items of its List.
fn sample_len() -> usize {
    let list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample()).unwrap()).unwrap();
    list["items"].as_array().unwrap().len()
}

fn kev(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kev"));
    cmd.args(args)
        .env("KEV_LOG_LEVEL", "warn")
        .env_remove("RUST_LOG")
        .env_remove("KEV_CONFIG");
    cmd
}

/// `kev run` on a replay without listeners, so tests can run in parallel.
fn replay(source: &str, store: &[&str]) -> Command {
    let mut args = vec![
        "run",
        "--source",
        source,
        "--listen",
        "off",
        "--api-listen",
        "off",
    ];
    args.extend_from_slice(store);
    kev(&args)
}

/// A redb store with the bundled sample replayed into it, in a temporary directory, and
/// the output of that replay.
fn sample_store() -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    let source = format!("replay:{}", sample().display());
    let out = run(replay(&source, &["--store-path", store.to_str().unwrap()]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, store, out)
}

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

fn stdout_events(out: &Output) -> Vec<Event> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an event line: {e}: {l}")))
        .collect()
}

#[test]
fn replay_prints_every_stored_event_as_a_json_line() {
    let (_dir, store, out) = sample_store();
    let events = stdout_events(&out);
    assert_eq!(events.len(), sample_len());
    assert!(
        events
            .iter()
            .all(|e| !e.uid.is_empty() && !e.reason.is_empty() || e.reason.is_empty())
    );
    assert!(
        events.iter().all(|e| !e.message.contains("Bearer ey")
            && !e.message.to_lowercase().contains("password=h")),
        "secrets must be redacted"
    );

    // The same file again: everything is already stored, nothing is printed twice.
    let source = format!("replay:{}", sample().display());
    let again = run(replay(&source, &["--store-path", store.to_str().unwrap()]));
    assert!(again.status.success());
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    // The history is there for `kev query`.
    let table = run(kev(&[
        "query",
        "--store-path",
        store.to_str().unwrap(),
        "--limit",
        "0",
    ]));
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let text = String::from_utf8(table.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "MESSAGE"
        ]
    );
    assert_eq!(lines.count(), sample_len());
}

#[test]
fn replay_reads_standard_input() {
    let mut child = replay("replay:-", &["--store", "memory"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(sample()).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_events(&out).len(), sample_len());
}

#[test]
fn query_json_output_replays_into_the_same_events() {
    let (dir, store, _) = sample_store();
    let json = run(kev(&[
        "query",
        "--store-path",
        store.to_str().unwrap(),
        "-o",
        "json",
        "--limit",
        "0",
    ]));
    assert!(json.status.success());
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &json.stdout).unwrap();
    let out = run(replay(
        &format!("replay:{}", file.display()),
        &["--store", "memory"],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut replayed = stdout_events(&out);
    let mut original = stdout_events(&json);
    replayed.sort_by(|a, b| a.uid.cmp(&b.uid));
    original.sort_by(|a, b| a.uid.cmp(&b.uid));
    assert_eq!(replayed, original);
}

#[test]
fn records_of_everything_are_streamed_in_the_order_of_a_limited_query() {
    let (_dir, store, _) = sample_store();
    let path = store.to_str().unwrap();
    for format in ["json", "yaml"] {
        for filter in [&[][..], &["--type", "Warning"], &["--collapse"]] {
            let query = |limit: &str| {
                let mut args = vec![
                    "query",
                    "--store-path",
                    path,
                    "-o",
                    format,
                    "--limit",
                    limit,
                ];
                args.extend_from_slice(filter);
                let out = run(kev(&args));
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            };
            // `--limit 0` streams oldest first; a limit collects the newest and reverses.
            let streamed = query("0");
            assert!(!streamed.is_empty());
            assert_eq!(streamed, query("100000"), "{format} {filter:?}");
        }
    }
}

#[test]
fn query_filters_and_a_closed_pipe_is_success() {
    let (_dir, store, _) = sample_store();
    let path = store.to_str().unwrap();

    let warnings = run(kev(&[
        "query",
        "--store-path",
        path,
        "--type",
        "Warning",
        "-o",
        "json",
        "--limit",
        "0",
    ]));
    let events = stdout_events(&warnings);
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.r#type == kev_core::EventType::Warning)
    );

    let mut child = kev(&["query", "--store-path", path, "--limit", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert!(
        child.wait().unwrap().success(),
        "a closed stdout is not a failure"
    );
}

#[test]
fn bad_usage_and_missing_stores_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = run(kev(&["query", "--store-path", missing.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kev store at"));
    assert!(!missing.exists(), "a query must not create a store");

    let out = run(kev(&[
        "run",
        "--source",
        "carrier-pigeon",
        "--listen",
        "off",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected `kube` or `replay:PATH`"));

    assert_eq!(
        run(kev(&["query", "--no-such-flag"])).status.code(),
        Some(2)
    );
}

#[test]
fn a_corrupt_store_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data");
    std::fs::create_dir_all(&store).unwrap();
    let file = store.join("kev.redb");
    std::fs::write(
        &file,
        b"this is not a redb file, and kev must not repair it",
    )
    .unwrap();
    let before = std::fs::read(&file).unwrap();
    let source = format!("replay:{}", sample().display());
    let out = run(replay(&source, &["--store-path", store.to_str().unwrap()]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn check_config_names_every_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kev.yaml");
    // `kev check-config` of `yaml`: its exit code and stderr.
    let check = |yaml: &str| {
        std::fs::write(&file, yaml).unwrap();
        let out = run(kev(&["check-config", file.to_str().unwrap()]));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), err)
    };
    let (code, err) = check(
        "store: {type: memory}\nserver: {listen: nowhere}\nroutes:\n  - name: hook\n    match: [{message: '(unclosed'}]\n    sinks: [{type: webhook, url: /relative}, {type: webhook, url: 'http://h/', template: '{{ event.reason | nope }}'}]\n",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("server.listen"), "{err}");
    assert!(err.contains("routes[0].match[0].message"), "{err}");
    assert!(err.contains("routes[0].sinks[0].url"), "{err}");
    assert!(
        err.contains("routes[0].sinks[1].template: unknown filter"),
        "{err}"
    );

    let (code, err) = check("store:\n  tpye: redb\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("store") && err.contains("unknown field `tpye`"),
        "{err}"
    );

    // EventPolicies come from the cluster: not with a replay source, as `kev run` says too.
    let (code, err) = check("source: {type: replay, path: events.json}\npolicies: {source: crd}\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("policies.source") && err.contains("source.type: kube"),
        "{err}"
    );

    let (code, err) = check("cluster: prod\nroutes:\n  - name: all\n    sinks: [{type: stdout}]\n");
    assert_eq!(code, Some(0), "{err}");

    // Environment overrides are validated the same way.
    let out = run({
        let mut c = kev(&["check-config", file.to_str().unwrap()]);
        c.env("KEV_PIPELINE__BATCH_MAX_EVENTS", "0");
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pipeline.batch_max_events"));
}
