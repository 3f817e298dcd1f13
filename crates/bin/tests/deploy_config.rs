//! The config shipped in `deploy/` (the ConfigMap's `kev.yaml` and the Helm chart's
//! default `config`) passes `kev check-config`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_config(yaml: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kev.yaml");
    std::fs::write(&file, yaml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_kev"))
        .arg("check-config")
        .arg(&file)
        // `KEV_…` overrides from the environment would change what is checked.
        .env_clear()
        .output()
        .unwrap()
}

/// The `kev.yaml` key of the ConfigMap in `deploy/manifests/05-configmap.yaml`.
fn configmap_kev_yaml() -> String {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/manifests/05-configmap.yaml")).unwrap();
    let configmap: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(configmap["kind"], "ConfigMap");
    configmap["data"]["kev.yaml"].as_str().unwrap().to_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "check-config failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 route(s))"));
}

#[test]
fn configmap_config_passes_check_config() {
    assert_ok(&check_config(&configmap_kev_yaml()));
}

#[test]
fn helm_default_config_passes_check_config() {
    let text = std::fs::read_to_string(repo_root().join("deploy/helm/kev/values.yaml")).unwrap();
    let values: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let config = serde_norway::to_string(&values["config"]).unwrap();
    assert_ok(&check_config(&config));
}

#[test]
fn a_broken_deploy_config_would_be_caught() {
    let broken = configmap_kev_yaml().replace("api_listen:", "api_lisen:");
    let out = check_config(&broken);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("api_lisen"));
}
