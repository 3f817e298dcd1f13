//! `cargo xtask e2e` without kind on PATH stops at once with exit code 2 and says why.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::process::Command;

#[test]
fn e2e_without_kind_exits_2_with_a_clear_message() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("e2e")
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cargo xtask e2e cannot run: `kind` is not on PATH"),
        "{stderr}"
    );
    assert!(stderr.contains("--kubeconfig"), "{stderr}");
}

#[test]
fn e2e_against_an_existing_cluster_without_kubectl_exits_2() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["e2e", "--context", "prod"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("`kubectl` is not on PATH"));
}
