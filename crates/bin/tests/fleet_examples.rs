//! The fleet examples in `examples/` stay valid configs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::process::Command;

#[test]
fn fleet_example_configs_pass_check_config() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["fleet-agent.yaml", "fleet-central.yaml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kev"))
            .arg("check-config")
            .arg(root.join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
