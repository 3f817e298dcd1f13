//! The default normalizer's mapping of both API groups onto `Event`: fields, times,
//! counts, reporting controller, derived ids and typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use kev_core::{
    DefaultNormalizer, Event, EventType, KubeEvent, NormalizeConfig, NormalizeError, Normalizer,
};

fn n() -> DefaultNormalizer {
    DefaultNormalizer::new(&NormalizeConfig::default()).unwrap()
}

fn json(text: &str) -> Result<Event, NormalizeError> {
    n().normalize_json(text.as_bytes())
}

fn ts(s: &str) -> Option<jiff::Timestamp> {
    Some(s.parse().unwrap())
}

const CORE: &str = r#"{
  "apiVersion": "v1", "kind": "Event",
  "metadata": {"name": "web-0.1", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
               "creationTimestamp": "2024-05-01T09:59:00Z",
               "labels": {"team": "a"}, "annotations": {"note": "x"}},
  "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "web-0",
                     "uid": "p-1", "fieldPath": "spec.containers{app}", "resourceVersion": "7"},
  "related": {"kind": "Node", "name": "n1"},
  "type": "Warning", "reason": "BackOff", "action": "Restarting",
  "message": "Back-off restarting failed container app",
  "source": {"component": "kubelet", "host": "n1"},
  "firstTimestamp": "2024-05-01T10:00:00Z", "lastTimestamp": "2024-05-01T10:05:00Z",
  "count": 12, "eventTime": null, "reportingComponent": "", "reportingInstance": ""
}"#;

#[test]
fn core_v1_maps_every_field() {
    let e = json(CORE).unwrap();
    assert_eq!(e.namespace, "shop");
    assert_eq!(e.name, "web-0.1");
    assert_eq!(e.uid, "u-1");
    assert_eq!(e.resource_version, "42");
    assert_eq!(e.r#type, EventType::Warning);
    assert_eq!(e.reason, "BackOff");
    assert_eq!(e.action, "Restarting");
    assert_eq!(e.message, "Back-off restarting failed container app");
    assert_eq!(e.regarding.api_version, "v1");
    assert_eq!(e.regarding.kind, "Pod");
    assert_eq!(e.regarding.namespace, "shop");
    assert_eq!(e.regarding.name, "web-0");
    assert_eq!(e.regarding.uid, "p-1");
    assert_eq!(e.regarding.field_path, "spec.containers{app}");
    assert_eq!(e.related.as_ref().unwrap().kind, "Node");
    assert_eq!(e.reporting_controller, "kubelet");
    assert_eq!(e.reporting_instance, "");
    assert_eq!(e.source_host, "n1");
    assert_eq!(e.first_seen, ts("2024-05-01T10:00:00Z"));
    assert_eq!(e.last_seen, ts("2024-05-01T10:05:00Z"));
    assert_eq!(e.count, 12);
    assert_eq!(e.labels["team"], "a");
    assert_eq!(e.annotations["note"], "x");
    assert!(!e.truncated);
    assert_eq!(e.cluster, "", "the pipeline stamps the cluster");
}

#[test]
fn events_k8s_io_twin_normalizes_to_the_same_event() {
    let twin = r#"{
      "apiVersion": "events.k8s.io/v1", "kind": "Event",
      "metadata": {"name": "web-0.1", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
                   "creationTimestamp": "2024-05-01T09:59:00Z",
                   "labels": {"team": "a"}, "annotations": {"note": "x"}},
      "regarding": {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "web-0",
                    "uid": "p-1", "fieldPath": "spec.containers{app}", "resourceVersion": "8"},
      "related": {"kind": "Node", "name": "n1"},
      "type": "Warning", "reason": "BackOff", "action": "Restarting",
      "note": "Back-off restarting failed container app",
      "deprecatedSource": {"component": "kubelet", "host": "n1"},
      "deprecatedFirstTimestamp": "2024-05-01T10:00:00Z",
      "deprecatedLastTimestamp": "2024-05-01T10:05:00Z",
      "deprecatedCount": 12, "eventTime": null
    }"#;
    assert_eq!(json(CORE).unwrap(), json(twin).unwrap());
}

#[test]
fn events_k8s_io_series_gives_count_and_last_seen() {
    let e = json(
        r#"{"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "1"},
            "regarding": {"kind": "Pod", "name": "p"},
            "reportingController": "kubelet", "reportingInstance": "kubelet-n1",
            "eventTime": "2024-05-01T10:00:00.123456Z",
            "series": {"count": 5, "lastObservedTime": "2024-05-01T10:09:00.000001Z"},
            "deprecatedCount": 2}"#,
    )
    .unwrap();
    assert_eq!(e.count, 5, "series.count wins over deprecatedCount");
    assert_eq!(e.first_seen, ts("2024-05-01T10:00:00.123456Z"));
    assert_eq!(e.last_seen, ts("2024-05-01T10:09:00.000001Z"));
    assert_eq!(e.reporting_controller, "kubelet");
    assert_eq!(e.reporting_instance, "kubelet-n1");
}

#[test]
fn reporting_controller_falls_back_in_order() {
    let with = |fields: &str| {
        json(&format!(
            r#"{{"metadata": {{"name": "a"}}, "involvedObject": {{"kind": "Pod"}}{fields}}}"#
        ))
        .unwrap()
        .reporting_controller
    };
    assert_eq!(
        with(
            r#", "reportingController": "c", "reportingComponent": "r", "source": {"component": "s"}"#
        ),
        "c"
    );
    assert_eq!(
        with(r#", "reportingComponent": "r", "source": {"component": "s"}"#),
        "r"
    );
    assert_eq!(
        with(r#", "reportingComponent": "null", "source": {"component": "s"}"#),
        "s"
    );
    assert_eq!(
        with(r#", "reportingComponent": "", "deprecatedSource": {"component": "d"}"#),
        "d"
    );
    assert_eq!(with(r#", "source": {}"#), "");
}

#[test]
fn null_strings_and_empty_times_count_as_absent() {
    let e = json(
        r#"{"metadata": {"name": "a", "creationTimestamp": "2022-03-22T23:49:14Z"},
            "involvedObject": {"kind": "Pod"},
            "firstTimestamp": "null", "lastTimestamp": "", "eventTime": "null",
            "reportingInstance": "null"}"#,
    )
    .unwrap();
    assert_eq!(e.first_seen, ts("2022-03-22T23:49:14Z"));
    assert_eq!(e.last_seen, ts("2022-03-22T23:49:14Z"));
    assert_eq!(e.reporting_instance, "");
}

#[test]
fn count_is_at_least_one() {
    let count = |fields: &str| {
        json(&format!(
            r#"{{"metadata": {{"name": "a"}}, "involvedObject": {{"kind": "Pod"}}{fields}}}"#
        ))
        .unwrap()
        .count
    };
    assert_eq!(count(""), 1);
    assert_eq!(count(r#", "count": 0"#), 1);
    assert_eq!(count(r#", "count": -3"#), 1);
    assert_eq!(count(r#", "count": "34075""#), 34075);
    assert_eq!(count(r#", "count": 99999999999"#), u32::MAX);
    assert_eq!(count(r#", "series": {"count": 4}, "count": 2"#), 4);
}

#[test]
fn missing_regarding_object_names_the_field_of_its_group() {
    assert_eq!(
        json(r#"{"kind": "Event", "metadata": {"name": "a"}, "message": "m"}"#),
        Err(NormalizeError::MissingField("involvedObject"))
    );
    assert_eq!(
        json(r#"{"apiVersion": "events.k8s.io/v1", "metadata": {"name": "a"}}"#),
        Err(NormalizeError::MissingField("regarding"))
    );
}

#[test]
fn other_kinds_are_not_events() {
    assert_eq!(
        json(r#"{"kind": "Pod", "metadata": {"name": "a"}, "involvedObject": {}}"#),
        Err(NormalizeError::NotAnEvent("Pod".into()))
    );
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert!(matches!(
        json("{not json"),
        Err(NormalizeError::Malformed(_))
    ));
    assert!(matches!(
        json(r#"{"metadata": {"name": "a"}, "involvedObject": {}, "count": "many"}"#),
        Err(NormalizeError::Malformed(_))
    ));
    let err = json(r#"{"involvedObject": {}, "lastTimestamp": "5 o'clock"}"#).unwrap_err();
    assert!(
        matches!(
            err,
            NormalizeError::InvalidField {
                field: "lastTimestamp",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.metric_reason(), "invalid_field");
}

#[test]
fn missing_uid_and_resource_version_are_derived_stably_and_distinctly() {
    let ev = |name: &str, last: &str, count: u32, message: &str| {
        json(&format!(
            r#"{{"metadata": {{"name": "{name}", "namespace": "ns"}}, "involvedObject": {{"kind": "Pod"}},
                "lastTimestamp": "{last}", "count": {count}, "message": "{message}"}}"#
        ))
        .unwrap()
    };
    let a = ev("a.1", "2024-01-01T00:00:00Z", 1, "m");
    assert!(a.uid.starts_with("kev-"), "{}", a.uid);
    assert!(a.resource_version.starts_with("kev-"));
    // Same input, same keys: on every run and machine (a fixed hash, pinned here).
    assert_eq!(a, ev("a.1", "2024-01-01T00:00:00Z", 1, "m"));
    assert_eq!(a.uid, "kev-d6978b36010c30c3f47e39a77318871d");
    assert_eq!(a.resource_version, "kev-5bffdcb49099233c");
    // Another event, or another version of the same event: other keys.
    let b = ev("a.2", "2024-01-01T00:00:00Z", 1, "m");
    assert_ne!(a.uid, b.uid);
    let a2 = ev("a.1", "2024-01-01T00:01:00Z", 2, "m");
    assert_eq!(a.uid, a2.uid);
    assert_ne!(a.resource_version, a2.resource_version);
    assert_ne!(a.idempotency_key(), a2.idempotency_key());
    assert_ne!(
        a.resource_version,
        ev("a.1", "2024-01-01T00:00:00Z", 1, "n").resource_version
    );
}

#[test]
fn normalize_takes_the_wire_struct_as_well() {
    let raw: KubeEvent = serde_json::from_str(CORE).unwrap();
    assert_eq!(n().normalize(raw).unwrap(), json(CORE).unwrap());
}
