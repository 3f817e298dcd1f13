//! Local runs do not collide: a replay opens no port unless asked, and a port that is
//! asked for and busy stops `kev run` with exit 2 and the flag that picks another.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events/cluster-events.json")
}

fn kev_run(extra: &[&str]) -> Output {
    let source = format!("replay:{}", sample().display());
    Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--source", &source, "--store", "memory"])
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("KEV_CONFIG")
        .env_remove("KEV_LOG_LEVEL")
        .output()
        .unwrap()
}

#[test]
fn a_replay_runs_while_the_default_ports_are_taken() {
    // Held for the whole test: the ports a replay bound by default before.
    let _metrics = TcpListener::bind("0.0.0.0:9464");
    let _api = TcpListener::bind("127.0.0.1:9465");
    let out = kev_run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("serving"),
        "a replay served something: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 61);
}

#[test]
fn a_busy_port_that_was_asked_for_names_the_flag_and_field_that_move_it() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    for (flag, names) in [
        ("--listen", "server.listen or --listen"),
        ("--api-listen", "server.api_listen or --api-listen"),
    ] {
        let out = kev_run(&[flag, &addr]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains(names),
            "{flag}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{flag}: events read before the listener"
        );
    }
}

#[test]
fn a_replay_of_a_file_with_no_event_in_it_says_so_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "remember: check the pods\nthen the nodes\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--store", "memory", "--source"])
        .arg(format!("replay:{}", notes.display()))
        .env("KEV_LOG_LEVEL", "error")
        .env_remove("RUST_LOG")
        .env_remove("KEV_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains(&format!("replay of {} read no event", notes.display()))
            && lines[0].contains("it looked like YAML or plain text")
            && lines[0].contains("kubectl get events -o json"),
        "{stderr}"
    );

    // An empty file is nothing to do, not bad input.
    std::fs::write(&notes, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--store", "memory", "--source"])
        .arg(format!("replay:{}", notes.display()))
        .env_remove("KEV_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
