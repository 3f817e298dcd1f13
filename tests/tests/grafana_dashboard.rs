//! `deploy/grafana/kev-dashboard.json` is a Grafana dashboard whose every query names
//! metrics that kev defines in `crates/core/src/metrics.rs` (the state gauges also in a
//! real exposition), and every shipped alert has a panel showing its signal.
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

/// The alerts of `deploy/alerts/kev-rules.yaml`: (name, the metrics its expression uses).
fn alert_signals() -> Vec<(String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(repo_root().join("deploy/alerts/kev-rules.yaml")).unwrap();
    let rules: Value = serde_norway::from_str(&text).unwrap();
    let mut out = Vec::new();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let metrics = metrics_in(rule["expr"].as_str().unwrap())
                .into_iter()
                .collect();
            out.push((rule["alert"].as_str().unwrap().to_owned(), metrics));
        }
    }
    out
}

#[test]
fn every_alert_has_a_panel_showing_its_signal() {
    let d = dashboard();
    for (alert, metrics) in alert_signals() {
        let mut shown = BTreeSet::new();
        let mut named = false;
        for panel in d["panels"].as_array().unwrap() {
            let description = panel["description"].as_str().unwrap_or_default();
            if !description.contains(&alert) {
                continue;
            }
            named = true;
            for target in panel["targets"].as_array().into_iter().flatten() {
                shown.extend(metrics_in(target["expr"].as_str().unwrap()));
            }
        }
        assert!(named, "no panel's description names {alert}");
        let missing: Vec<_> = metrics.difference(&shown).collect();
        assert!(
            missing.is_empty(),
            "the panels of {alert} do not show {missing:?}"
        );
    }
}

/// The state gauges are rendered by the condition tracker, outside the recorder: the
/// names the dashboard queries are those of a real exposition.
#[test]
fn the_state_gauges_queried_are_in_the_trackers_exposition() {
    use kev_core::condition::{ConditionConfig, ConditionTracker};
    let tracker = ConditionTracker::new(ConditionConfig::default());
    tracker.observe(&kev_core::Event {
        reason: "BackOff".into(),
        regarding: kev_core::ObjectRef {
            kind: "Pod".into(),
            name: "p".into(),
            ..Default::default()
        },
        last_seen: Some(jiff::Timestamp::now()),
        ..Default::default()
    });
    let exposition = tracker.render();
    let rendered: BTreeSet<String> = metrics_in(&exposition).into_iter().collect();
    let queried: BTreeSet<String> = queries(&dashboard())
        .iter()
        .flat_map(|(_, expr)| metrics_in(expr))
        .filter(|m| m.contains("condition"))
        .collect();
    assert!(queried.len() >= 2, "{queried:?}");
    for name in queried {
        assert!(rendered.contains(&name), "{name} is not in\n{exposition}");
    }
}
