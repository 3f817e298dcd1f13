//! The examples in the docs are valid configs: `kev check-config` accepts every YAML
//! block of docs/config.md and every file in examples/ that is a config.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::path::Path;
use std::process::Command;

fn check_config(file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["check-config", file.to_str().unwrap()])
        .env_remove("KEV_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn every_yaml_block_of_the_config_reference_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/config.md")).unwrap();
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty());
    let dir = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let file = dir.path().join(format!("block-{i}.yaml"));
        std::fs::write(&file, block).unwrap();
        let out = check_config(&file);
        assert!(
            out.status.success(),
            "docs/config.md yaml block {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_example_config_is_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let out = check_config(&path);
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "history-only, warnings-webhook, remediation-mcp and the two fleet files"
    );
}
