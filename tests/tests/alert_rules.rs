//! kev's shipped alerts: `promtool check rules` accepts the plain rules file, the
//! PrometheusRule's groups and the Helm chart's copy (all three the same groups),
//! `promtool test rules` passes, and that unit test has, for every alert, a case where
//! it fires and one where it stays quiet; every alert has its section in
//! docs/alerts.md, and every metric its expressions use is one kev defines. promtool
//! comes from `kev_tests::tools::prometheus_tools` (skipped with the reason without it,
//! unless `KEV_REQUIRE_PROMETHEUS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kev_tests::tools::prometheus_tools;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rules_file() -> PathBuf {
    repo_root().join("deploy/alerts/kev-rules.yaml")
}

/// Every rule of the plain file: (alert name, rule).
fn alerts() -> Vec<(String, Value)> {
    let rules = yaml(&rules_file());
    let mut out = Vec::new();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            out.push((rule["alert"].as_str().unwrap().to_owned(), rule.clone()));
        }
    }
    assert!(out.len() >= 15, "only {} alerts", out.len());
    out
}

fn promtool(args: &[&str], file: &Path) -> String {
    let Some(tools) = prometheus_tools() else {
        return String::new();
    };
    let out = Command::new(&tools.promtool)
        .args(args)
        .arg(file)
        .current_dir(file.parent().unwrap())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {args:?} {}:\n{text}",
        file.display()
    );
    text
}

#[test]
fn the_three_shipped_forms_hold_the_same_groups() {
    let plain = std::fs::read_to_string(rules_file()).unwrap();
    let chart =
        std::fs::read_to_string(repo_root().join("deploy/helm/kev/files/kev-rules.yaml")).unwrap();
    assert_eq!(
        plain, chart,
        "deploy/helm/kev/files/kev-rules.yaml is a copy of deploy/alerts/kev-rules.yaml"
    );
    let rule = yaml(&repo_root().join("deploy/manifests/monitoring/prometheusrule.yaml"));
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(rule["spec"]["groups"], yaml(&rules_file())["groups"]);
}

#[test]
fn promtool_checks_every_shipped_rule_file() {
    let out = promtool(&["check", "rules"], &rules_file());
    if out.is_empty() {
        return; // skipped, said why
    }
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", alerts().len())),
        "{out}"
    );
    // The PrometheusRule's groups, as the operator hands them to Prometheus.
    let dir = tempfile::tempdir().unwrap();
    let rule = yaml(&repo_root().join("deploy/manifests/monitoring/prometheusrule.yaml"));
    let extracted = dir.path().join("prometheusrule-groups.yaml");
    let groups = serde_json::json!({"groups": rule["spec"]["groups"]});
    std::fs::write(&extracted, serde_norway::to_string(&groups).unwrap()).unwrap();
    promtool(&["check", "rules"], &extracted);
}

#[test]
fn promtool_unit_tests_pass_and_cover_every_alert_both_ways() {
    let tests = repo_root().join("deploy/alerts/kev-rules.test.yaml");
    let mut fires: BTreeMap<String, usize> = BTreeMap::new();
    let mut quiet: BTreeMap<String, usize> = BTreeMap::new();
    for case in yaml(&tests)["tests"].as_array().unwrap() {
        for check in case["alert_rule_test"].as_array().unwrap() {
            let name = check["alertname"].as_str().unwrap().to_owned();
            let expected = check["exp_alerts"].as_array().map_or(0, Vec::len);
            *if expected > 0 { &mut fires } else { &mut quiet }
                .entry(name)
                .or_default() += 1;
        }
    }
    for (name, _) in alerts() {
        assert!(
            fires.contains_key(&name),
            "no promtool test where {name} fires"
        );
        assert!(
            quiet.contains_key(&name),
            "no promtool test where {name} stays quiet"
        );
    }
    let out = promtool(&["test", "rules"], &tests);
    assert!(out.is_empty() || out.contains("SUCCESS"), "{out}");
}

#[test]
fn every_alert_has_a_runbook_section_and_annotations() {
    let doc = std::fs::read_to_string(repo_root().join("docs/alerts.md")).unwrap();
    for (name, rule) in alerts() {
        let a = &rule["annotations"];
        for key in ["summary", "description", "runbook"] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no {key}"
            );
        }
        let anchor = format!("docs/alerts.md#{}", name.to_lowercase());
        assert_eq!(a["runbook"], anchor.as_str(), "{name}");
        let section = doc
            .split("\n## ")
            .find(|s| s.starts_with(&name) && s[name.len()..].starts_with('\n'))
            .unwrap_or_else(|| panic!("docs/alerts.md has no `## {name}` section"));
        for part in ["**Summary**", "**Description**", "**Runbook**"] {
            assert!(
                section.contains(part),
                "docs/alerts.md `## {name}` has no {part}"
            );
        }
        assert!(
            rule["labels"]["severity"].is_string(),
            "{name}: no severity"
        );
    }
}

#[test]
fn every_metric_of_the_alerts_is_one_kev_defines() {
    let source = std::fs::read_to_string(repo_root().join("crates/core/src/metrics.rs")).unwrap();
    let constant =
        regex::Regex::new(r#"pub const [A-Z0-9_]+: &str = "(kev_[a-z0-9_]+)";"#).unwrap();
    let defined: BTreeSet<String> = constant
        .captures_iter(&source)
        .map(|c| c[1].to_owned())
        .collect();
    let used = regex::Regex::new(r"\bkev_[a-z0-9_]+").unwrap();
    for (name, rule) in alerts() {
        let expr = rule["expr"].as_str().unwrap();
        for m in used.find_iter(expr) {
            assert!(
                defined.contains(m.as_str()),
                "{name} uses {}, which kev does not define",
                m.as_str()
            );
        }
    }
}
