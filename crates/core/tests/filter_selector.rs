//! The selector filter: each rule field, composition, match/drop semantics, YAML config
//! and the paths named by invalid config.

// Helpers outside #[test] fns panic on purpose too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use kev_core::{
    Event, EventType, Filter, FilterConfig, ObjectRef, RuleConfig, SelectorFilter,
    config::ConfigError,
};

fn pod_backoff() -> Event {
    Event {
        cluster: "prod".into(),
        namespace: "web".into(),
        name: "web-0.17a".into(),
        r#type: EventType::Warning,
        reason: "BackOff".into(),
        message: "Back-off restarting failed container app in pod web-0".into(),
        regarding: ObjectRef {
            kind: "Pod".into(),
            namespace: "web".into(),
            name: "web-0".into(),
            ..Default::default()
        },
        reporting_controller: "kubelet".into(),
        count: 7,
        labels: BTreeMap::from([
            ("team".into(), "shop".into()),
            ("tier".into(), "front".into()),
        ]),
        ..Default::default()
    }
}

/// The filter of one `match` rule given in YAML.
fn rule(yaml: &str) -> SelectorFilter {
    let rule: RuleConfig = serde_norway::from_str(yaml).unwrap();
    SelectorFilter::compile(&FilterConfig {
        r#match: vec![rule],
        drop: vec![],
    })
    .unwrap()
}

fn filter(yaml: &str) -> SelectorFilter {
    let config: FilterConfig = serde_norway::from_str(yaml).unwrap();
    SelectorFilter::compile(&config).unwrap()
}

fn compile_error(yaml: &str) -> ConfigError {
    let config: FilterConfig = serde_norway::from_str(yaml).unwrap();
    SelectorFilter::compile(&config).unwrap_err()
}

#[test]
fn type_one_or_list_ignoring_case() {
    let e = pod_backoff();
    assert!(rule("type: Warning").keep(&e));
    assert!(rule("type: warning").keep(&e));
    assert!(rule("type: [Normal, Warning]").keep(&e));
    assert!(!rule("type: Normal").keep(&e));
    let odd = Event {
        r#type: EventType::Other("Error".into()),
        ..e
    };
    assert!(rule("type: Error").keep(&odd));
    assert!(!rule("type: Warning").keep(&odd));
}

#[test]
fn reason_is_exact() {
    let e = pod_backoff();
    assert!(rule("reason: BackOff").keep(&e));
    assert!(rule("reason: [Pulled, BackOff]").keep(&e));
    assert!(!rule("reason: backoff").keep(&e));
    assert!(!rule("reason: Back").keep(&e));
}

#[test]
fn reason_regex_matches_anywhere_unless_anchored() {
    let e = pod_backoff();
    assert!(rule("reason_regex: Off").keep(&e));
    assert!(rule("reason_regex: ^Back").keep(&e));
    assert!(!rule("reason_regex: ^Off").keep(&e));
    assert!(rule("reason_regex: (?i)^backoff$").keep(&e));
}

#[test]
fn kind_of_the_involved_object_ignoring_case() {
    let e = pod_backoff();
    assert!(rule("kind: Pod").keep(&e));
    assert!(rule("kind: pod").keep(&e));
    assert!(rule("kind: [Node, POD]").keep(&e));
    assert!(!rule("kind: Deployment").keep(&e));
}

#[test]
fn namespace_is_exact() {
    let e = pod_backoff();
    assert!(rule("namespace: web").keep(&e));
    assert!(rule("namespace: [kube-system, web]").keep(&e));
    assert!(!rule("namespace: Web").keep(&e));
    let cluster_scoped = Event {
        namespace: String::new(),
        ..pod_backoff()
    };
    assert!(rule("namespace: ''").keep(&cluster_scoped));
}

#[test]
fn name_regex_on_the_involved_object() {
    let e = pod_backoff();
    assert!(rule("name: ^web-\\d+$").keep(&e));
    assert!(!rule("name: ^api-").keep(&e));
    // The Event's own name is not the involved object's.
    assert!(!rule("name: 17a").keep(&e));
}

#[test]
fn labels_all_must_be_equal() {
    let e = pod_backoff();
    assert!(rule("labels: {team: shop}").keep(&e));
    assert!(rule("labels: {team: shop, tier: front}").keep(&e));
    assert!(!rule("labels: {team: shop, tier: back}").keep(&e));
    assert!(!rule("labels: {owner: shop}").keep(&e));
}

#[test]
fn message_regex() {
    let e = pod_backoff();
    assert!(rule("message: restarting failed").keep(&e));
    assert!(rule("message: (?i)BACK-OFF").keep(&e));
    assert!(!rule("message: OOM").keep(&e));
}

#[test]
fn min_count_is_inclusive() {
    let e = pod_backoff();
    assert!(rule("min_count: 7").keep(&e));
    assert!(rule("min_count: 1").keep(&e));
    assert!(!rule("min_count: 8").keep(&e));
}

#[test]
fn reporting_controller_is_exact() {
    let e = pod_backoff();
    assert!(rule("reporting_controller: kubelet").keep(&e));
    assert!(rule("reporting_controller: [default-scheduler, kubelet]").keep(&e));
    assert!(!rule("reporting_controller: default-scheduler").keep(&e));
}

#[test]
fn every_field_of_a_rule_must_match() {
    let e = pod_backoff();
    let all = "{type: Warning, reason: BackOff, reason_regex: Back, kind: Pod, namespace: web, \
               name: web, labels: {team: shop}, message: container, min_count: 2, \
               reporting_controller: kubelet}";
    assert!(rule(all).keep(&e));
    // Changing any single field makes the rule fail.
    for wrong in [
        "type: Normal",
        "reason: Pulled",
        "reason_regex: Pull",
        "kind: Node",
        "namespace: db",
        "name: api",
        "labels: {team: ops}",
        "message: OOM",
        "min_count: 100",
        "reporting_controller: scheduler",
    ] {
        let mut config: RuleConfig = serde_norway::from_str(all).unwrap();
        let patch: RuleConfig = serde_norway::from_str(wrong).unwrap();
        config.r#type = patch.r#type.or(config.r#type);
        config.reason = patch.reason.or(config.reason);
        config.reason_regex = patch.reason_regex.or(config.reason_regex);
        config.kind = patch.kind.or(config.kind);
        config.namespace = patch.namespace.or(config.namespace);
        config.name = patch.name.or(config.name);
        config.labels = patch.labels.or(config.labels);
        config.message = patch.message.or(config.message);
        config.min_count = patch.min_count.or(config.min_count);
        config.reporting_controller = patch.reporting_controller.or(config.reporting_controller);
        let f = SelectorFilter::compile(&FilterConfig {
            r#match: vec![config],
            drop: vec![],
        })
        .unwrap();
        assert!(!f.keep(&e), "{wrong} should make the rule fail");
    }
}

#[test]
fn all_any_not_compose() {
    let e = pod_backoff();
    assert!(rule("all: [{type: Warning}, {kind: Pod}]").keep(&e));
    assert!(!rule("all: [{type: Warning}, {kind: Node}]").keep(&e));
    assert!(rule("any: [{kind: Node}, {reason: BackOff}]").keep(&e));
    assert!(!rule("any: [{kind: Node}, {reason: Pulled}]").keep(&e));
    assert!(rule("not: {namespace: kube-system}").keep(&e));
    assert!(!rule("not: {namespace: web}").keep(&e));
    assert!(rule("not: {not: {namespace: web}}").keep(&e));
    // Composition is ANDed with the rule's own fields.
    assert!(
        rule("{type: Warning, any: [{kind: Node}, {kind: Pod}], not: {min_count: 10}}").keep(&e)
    );
    assert!(!rule("{type: Normal, any: [{kind: Node}, {kind: Pod}]}").keep(&e));
    assert!(rule("any: [{all: [{kind: Pod}, {not: {reason: Pulled}}]}, {kind: Node}]").keep(&e));
}

#[test]
fn empty_filter_keeps_everything() {
    let f = SelectorFilter::compile(&FilterConfig::default()).unwrap();
    assert!(f.keep(&pod_backoff()));
    assert!(f.keep(&Event::default()));
    assert!(filter("{}").keep(&Event::default()));
}

#[test]
fn match_any_rule_and_drop_wins() {
    let f = filter(
        r"
match:
  - type: Warning
  - reason: Scheduled
drop:
  - namespace: kube-system
  - message: (?i)probe failed
",
    );
    let warning = pod_backoff();
    let scheduled = Event {
        r#type: EventType::Normal,
        reason: "Scheduled".into(),
        ..pod_backoff()
    };
    let pulled = Event {
        r#type: EventType::Normal,
        reason: "Pulled".into(),
        ..pod_backoff()
    };
    assert!(f.keep(&warning));
    assert!(f.keep(&scheduled));
    assert!(!f.keep(&pulled), "no match rule matches");
    let system = Event {
        namespace: "kube-system".into(),
        ..pod_backoff()
    };
    assert!(!f.keep(&system), "drop wins over match");
    let probe = Event {
        message: "Readiness probe failed: HTTP 503".into(),
        ..pod_backoff()
    };
    assert!(!f.keep(&probe));
}

#[test]
fn drop_only_keeps_the_rest() {
    let f = filter("drop: [{type: Normal}]");
    assert!(f.keep(&pod_backoff()));
    assert!(!f.keep(&Event {
        r#type: EventType::Normal,
        ..pod_backoff()
    }));
}

#[test]
fn invalid_regex_names_the_rule_path() {
    let e = compile_error("match: [{type: Warning}, {type: Normal}, {message: '(oom'}]");
    assert_eq!(e.path, "match[2].message");
    assert!(e.message.starts_with("invalid regex: "), "{e}");
    assert!(
        e.to_string()
            .starts_with("match[2].message: invalid regex: "),
        "{e}"
    );

    let e = compile_error("drop: [{any: [{kind: Pod}, {reason_regex: '[z-a]'}]}]");
    assert_eq!(e.path, "drop[0].any[1].reason_regex");

    let e = compile_error("drop: [{kind: Pod}, {all: [{not: {name: '*'}}]}]");
    assert_eq!(e.path, "drop[1].all[0].not.name");
}

#[test]
fn empty_rules_and_lists_are_errors() {
    let e = compile_error("match: [{type: Warning}, {}]");
    assert_eq!(e.path, "match[1]");
    assert!(e.message.starts_with("empty rule"), "{e}");

    let e = compile_error("drop: [{not: {}}]");
    assert_eq!(e.path, "drop[0].not");

    let e = compile_error("match: [{any: []}]");
    assert_eq!(e.path, "match[0].any");

    let e = compile_error("match: [{reason: []}]");
    assert_eq!(e.path, "match[0].reason");

    let e = compile_error("match: [{labels: {}}]");
    assert_eq!(e.path, "match[0].labels");

    let config: FilterConfig = serde_norway::from_str("match: [{all: [{kind: Pod}, {}]}]").unwrap();
    assert_eq!(config.validate().unwrap_err().path, "match[0].all[1]");
    assert!(FilterConfig::default().validate().is_ok());
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_by_serde() {
    let err = serde_norway::from_str::<FilterConfig>("match: [{typ: Warning}]").unwrap_err();
    assert!(err.to_string().contains("unknown field `typ`"), "{err}");
    let err = serde_norway::from_str::<FilterConfig>("matches: []").unwrap_err();
    assert!(err.to_string().contains("unknown field `matches`"), "{err}");
    let err = serde_norway::from_str::<FilterConfig>("match: [{reason: {a: b}}]").unwrap_err();
    assert!(
        err.to_string().contains("a string or a list of strings"),
        "{err}"
    );
    let err = serde_norway::from_str::<FilterConfig>("match: [{min_count: many}]").unwrap_err();
    assert!(err.to_string().contains("min_count"), "{err}");
}

#[test]
fn yaml_round_trips_through_serialize() {
    let yaml = r"
match:
  - type: Warning
    kind: [Pod, Node]
    labels: {team: shop}
  - any:
      - reason_regex: ^Failed
      - not: {min_count: 3}
drop:
  - namespace: kube-system
";
    let config: FilterConfig = serde_norway::from_str(yaml).unwrap();
    assert_eq!(config.r#match.len(), 2);
    assert_eq!(
        config.r#match[0].kind.as_ref().unwrap().values(),
        ["Pod", "Node"]
    );
    let again: FilterConfig =
        serde_norway::from_str(&serde_norway::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn filter_is_a_shareable_trait_object() {
    let f: std::sync::Arc<dyn Filter> = std::sync::Arc::new(filter("match: [{type: Warning}]"));
    let g = f.clone();
    let handle = std::thread::spawn(move || g.keep(&pod_backoff()));
    assert!(handle.join().unwrap());
}
