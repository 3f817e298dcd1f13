use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::{Event, ObjectRef};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn event(reason: &str, ns: &str, kind: &str, name: &str, secs: i64) -> Event {
    Event {
        reason: reason.into(),
        regarding: ObjectRef {
            namespace: ns.into(),
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        },
        last_seen: Some(at(secs)),
        ..Default::default()
    }
}

fn replayed() -> ConditionTracker {
    ConditionTracker::new(ConditionConfig {
        clock: ConditionClock::Events,
        quiet_period: Duration::from_secs(600),
        ..ConditionConfig::default()
    })
}

fn objects(t: &ConditionTracker, reason: &str) -> u64 {
    t.series()
        .iter()
        .filter(|s| s.reason == reason)
        .map(|s| s.objects)
        .sum()
}

#[test]
fn a_recovery_event_ends_the_condition_of_that_object_only() {
    let t = replayed();
    t.observe(&event("CrashLoopBackOff", "shop", "Pod", "web-0", 0));
    t.observe(&event("BackOff", "shop", "Pod", "web-1", 1));
    t.observe(&event("ErrImagePull", "shop", "Pod", "web-1", 2));
    assert_eq!(
        (objects(&t, "BackOff"), objects(&t, "ImagePullBackOff")),
        (2, 1)
    );
    t.observe(&event("Started", "shop", "Pod", "web-0", 3));
    t.observe(&event("Pulled", "shop", "Pod", "web-1", 4));
    assert_eq!(
        (objects(&t, "BackOff"), objects(&t, "ImagePullBackOff")),
        (1, 0)
    );
}

#[test]
fn a_recovery_older_than_the_last_failure_does_not_end_it() {
    let t = replayed();
    t.observe(&event("FailedScheduling", "a", "Pod", "p", 10));
    t.observe(&event("Scheduled", "a", "Pod", "p", 5));
    assert_eq!(objects(&t, "FailedScheduling"), 1);
}

#[test]
fn a_quiet_object_leaves_its_condition_after_the_quiet_period() {
    let t = replayed();
    t.observe(&event("Unhealthy", "a", "Pod", "quiet", 0));
    t.observe(&event("Unhealthy", "a", "Pod", "noisy", 0));
    t.observe(&event("Unhealthy", "a", "Pod", "noisy", 590));
    assert_eq!(objects(&t, "Unhealthy"), 2);
    // The event clock moves past the quiet object's 600 s.
    t.observe(&event("Unhealthy", "a", "Pod", "noisy", 601));
    assert_eq!(objects(&t, "Unhealthy"), 1);
}

#[test]
fn a_deleted_object_leaves_every_condition() {
    let t = replayed();
    t.observe(&event("NodeNotReady", "", "Node", "n1", 0));
    t.observe(&event("OOMKilling", "", "Node", "n1", 1));
    t.observe(&event("RemovingNode", "", "Node", "n1", 2));
    t.observe(&event("Evicted", "shop", "Pod", "web-7", 3));
    let mut gone = event("SuccessfulDelete", "shop", "ReplicaSet", "web", 4);
    gone.message = "Deleted pod: web-7".into();
    t.observe(&gone);
    assert_eq!(t.tracked(), 0);
}

#[test]
fn seconds_are_those_of_the_oldest_object_from_its_first_failure() {
    let t = replayed();
    let mut old = event("FailedMount", "db", "Pod", "pg-0", 100);
    old.first_seen = Some(at(40));
    t.observe(&old);
    t.observe(&event("FailedAttachVolume", "db", "Pod", "pg-1", 90));
    t.observe(&event("Pulling", "db", "Pod", "other", 160));
    let s = t.series();
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].objects, s[0].seconds), (2, 120.0));
}

#[test]
fn conditions_of_the_config_are_tracked_and_checked() {
    let rule = ConditionRule {
        name: "QuotaExceeded".into(),
        reasons: vec!["ExceededQuota".into()],
        recovery: vec!["QuotaOk".into()],
    };
    let config = ConditionConfig {
        clock: ConditionClock::Events,
        extra: vec![rule.clone()],
        ..ConditionConfig::default()
    };
    assert!(config.validate().is_empty());
    let t = ConditionTracker::new(config);
    t.observe(&event("ExceededQuota", "a", "ResourceQuota", "q", 0));
    assert_eq!(objects(&t, "QuotaExceeded"), 1);
    t.observe(&event("QuotaOk", "a", "ResourceQuota", "q", 1));
    assert_eq!(objects(&t, "QuotaExceeded"), 0);

    let bad = ConditionConfig {
        quiet_period: Duration::ZERO,
        extra: vec![
            ConditionRule {
                name: "BackOff".into(),
                ..rule.clone()
            },
            ConditionRule {
                reasons: vec![],
                recovery: vec![],
                ..rule.clone()
            },
            ConditionRule {
                recovery: rule.reasons.clone(),
                name: "X".into(),
                ..rule
            },
        ],
        ..ConditionConfig::default()
    };
    let paths: Vec<String> = bad.validate().into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "conditions.quiet_period",
            "conditions.extra[0].name",
            "conditions.extra[1].reasons",
            "conditions.extra[2].recovery",
        ]
    );
}

#[test]
fn the_text_exposition_has_both_families_and_escapes_values() {
    let t = replayed();
    t.observe(&event("FailedCreate", "we\"ird", "Job", "j", 0));
    t.observe(&event("FailedCreate", "we\"ird", "Job", "j", 30));
    let text = t.render();
    assert!(
        text.contains("# TYPE kev_objects_in_condition gauge"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"kev_objects_in_condition{namespace="we\"ird",kind="Job",reason="FailedCreate"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"kev_condition_seconds{namespace="we\"ird",kind="Job",reason="FailedCreate"} 30.000"#
        ),
        "{text}"
    );
}

#[test]
fn the_tracked_objects_are_capped() {
    let t = ConditionTracker::new(ConditionConfig {
        clock: ConditionClock::Events,
        max_objects: 3,
        ..ConditionConfig::default()
    });
    for i in 0..5 {
        t.observe(&event("BackOff", "a", "Pod", &format!("p{i}"), i));
    }
    assert_eq!(t.tracked(), 3);
}

/// 100,000 distinct failing objects in 5,000 namespaces and 300 kinds: every one is
/// counted, and the series stay within the bound.
#[test]
fn series_stay_bounded_with_100k_failing_objects() {
    let config = ConditionConfig {
        clock: ConditionClock::Events,
        ..ConditionConfig::default()
    };
    let bound = config.max_series;
    let t = ConditionTracker::new(config);
    let reasons = [
        "BackOff",
        "ErrImagePull",
        "FailedScheduling",
        "Unhealthy",
        "FailedMount",
    ];
    let events: Vec<Event> = (0..100_000)
        .map(|i| {
            let ns = format!("ns-{}", i % 5_000);
            let kind = format!("Kind{}", i % 300);
            event(
                reasons[i % reasons.len()],
                &ns,
                &kind,
                &format!("obj-{i}"),
                0,
            )
        })
        .collect();
    t.apply(t.signals(&events));
    let series = t.series();
    assert!(series.len() <= bound, "{} series", series.len());
    assert_eq!(series.iter().map(|s| s.objects).sum::<u64>(), 100_000);
    assert!(
        series
            .iter()
            .any(|s| s.namespace == "other" && s.kind == "other")
    );
    let text = t.render();
    let lines = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(lines, 2 * series.len());
}

proptest! {
    #[test]
    fn series_never_exceed_the_bound_and_count_every_object(
        objects in proptest::collection::vec((0u8..40, 0u8..12, 0usize..9, 0u16..500), 1..400),
        top_namespaces in 0usize..10,
        top_kinds in 0usize..5,
        max_series in 9usize..30,
    ) {
        let t = ConditionTracker::new(ConditionConfig {
            clock: ConditionClock::Events,
            top_namespaces,
            top_kinds,
            max_series,
            ..ConditionConfig::default()
        });
        let rules = table::built_in();
        let mut distinct = std::collections::HashSet::new();
        for (ns, kind, rule, name) in &objects {
            let e = event(&rules[*rule].reasons[0], &format!("n{ns}"), &format!("K{kind}"), &format!("o{name}"), 0);
            distinct.insert((ns, kind, rule, name));
            t.observe(&e);
        }
        let series = t.series();
        prop_assert!(series.len() <= max_series);
        prop_assert_eq!(series.iter().map(|s| s.objects).sum::<u64>(), distinct.len() as u64);
        let namespaces: std::collections::HashSet<_> =
            series.iter().map(|s| &s.namespace).filter(|n| *n != "other").collect();
        prop_assert!(namespaces.len() <= top_namespaces);
    }
}

#[tokio::test]
async fn the_tracker_is_rebuilt_from_the_store() {
    use crate::store::AsyncStore;
    use crate::{MemoryStore, Store};
    let now = Timestamp::now();
    let ago = |secs: i64| {
        now.checked_sub(SignedDuration::from_secs(secs))
            .unwrap_or(now)
    };
    let with_time = |mut e: Event, t: Timestamp, uid: &str| {
        e.last_seen = Some(t);
        e.uid = uid.into();
        e.resource_version = "1".into();
        e
    };
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(MemoryStore::new());
    let events = vec![
        with_time(event("BackOff", "a", "Pod", "old", 0), ago(3_600), "u1"),
        with_time(event("BackOff", "a", "Pod", "live", 0), ago(120), "u2"),
        with_time(event("BackOff", "a", "Pod", "fixed", 0), ago(100), "u3"),
        with_time(event("Started", "a", "Pod", "fixed", 0), ago(60), "u4"),
    ];
    store
        .append(&events, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let tracker = std::sync::Arc::new(ConditionTracker::new(ConditionConfig {
        quiet_period: Duration::from_secs(600),
        ..ConditionConfig::default()
    }));
    rebuild::rebuild(tracker.clone(), &AsyncStore::new(store))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let series = tracker.series();
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(series[0].objects, 1, "only `live` is still in BackOff");
}
