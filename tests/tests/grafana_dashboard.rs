//! `deploy/grafana/kev-dashboard.json` is a Grafana dashboard whose every query names
//! metrics that kev defines in `crates/core/src/metrics.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The metric names defined as `pub const NAME: &str = "kev_…";` in kev-core.
fn defined_metrics() -> BTreeSet<String> {
    let source = std::fs::read_to_string(repo_root().join("crates/core/src/metrics.rs")).unwrap();
    let constant =
        regex::Regex::new(r#"pub const [A-Z0-9_]+: &str = "(kev_[a-z0-9_]+)";"#).unwrap();
    let names: BTreeSet<String> = constant
        .captures_iter(&source)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(names.len() > 10, "parsed only {names:?} from metrics.rs");
    names
}

/// Every `expr` of every panel target, and every variable query, with its panel title.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((title.clone(), target["expr"].as_str().unwrap().to_owned()));
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["definition"].as_str() {
            out.push((format!("variable {}", var["name"]), q.to_owned()));
        }
    }
    out
}

/// `kev_…` names in a PromQL expression, histogram series mapped to their metric.
fn metrics_in(expr: &str) -> Vec<String> {
    let name = regex::Regex::new(r"\bkev_[a-z0-9_]+").unwrap();
    name.find_iter(expr)
        .map(|m| {
            let n = m.as_str();
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| n.strip_suffix(suffix))
                .unwrap_or(n)
                .to_owned()
        })
        .collect()
}

fn dashboard() -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/grafana/kev-dashboard.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_queried_metric_is_defined_by_kev() {
    let defined = defined_metrics();
    let mut unknown = Vec::new();
    let mut used = BTreeSet::new();
    for (panel, expr) in queries(&dashboard()) {
        let names = metrics_in(&expr);
        assert!(!names.is_empty(), "{panel}: queries no kev metric: {expr}");
        for name in names {
            if !defined.contains(&name) {
                unknown.push(format!("{panel}: {name}"));
            }
            used.insert(name);
        }
    }
    assert!(
        unknown.is_empty(),
        "not in crates/core/src/metrics.rs: {unknown:?}"
    );
    for wanted in [
        "kev_events_received_total",
        "kev_watch_connected",
        "kev_watch_restarts_total",
        "kev_watch_last_progress_age_seconds",
        "kev_store_events",
        "kev_store_bytes",
        "kev_route_backlog",
        "kev_sink_errors_total",
        "kev_sink_latency_seconds",
    ] {
        assert!(used.contains(wanted), "no panel shows {wanted}");
    }
}

#[test]
fn dashboard_is_a_grafana_dashboard_with_a_datasource_variable() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(d["uid"], "kev-overview");
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars.iter().find(|v| v["type"] == "datasource").unwrap();
    assert_eq!(ds["name"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let mut ids = BTreeSet::new();
    for panel in d["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "duplicate panel id"
        );
        let pos = &panel["gridPos"];
        assert!(pos["x"].as_u64().unwrap() + pos["w"].as_u64().unwrap() <= 24);
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{}",
                panel["title"]
            );
        }
    }
}

#[test]
fn metric_names_are_read_from_expressions() {
    assert_eq!(
        metrics_in(
            "histogram_quantile(0.9, sum by (le) (rate(kev_sink_latency_seconds_bucket[5m]))) / kev_store_bytes"
        ),
        ["kev_sink_latency_seconds", "kev_store_bytes"]
    );
}
