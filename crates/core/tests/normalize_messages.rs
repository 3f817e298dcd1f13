//! Message handling of the default normalizer: truncation on a UTF-8 boundary,
//! redaction of secrets, their metrics, `sanitize`, and the config that drives them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::collections::BTreeMap;

use kev_core::metrics::{MESSAGES_REDACTED_TOTAL, MESSAGES_TRUNCATED_TOTAL};
use kev_core::{DefaultNormalizer, Event, NormalizeConfig, Normalizer};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// Runs `f` with a recorder of its own and returns the counters it left.
fn counters<T>(f: impl FnOnce() -> T) -> (T, BTreeMap<String, u64>) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, f);
    let counters = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(c) => Some((key.key().name().to_owned(), c)),
            _ => None,
        })
        .collect();
    (out, counters)
}

fn event_json(message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "message": message,
    }))
    .unwrap()
}

fn normalizer(max_message_bytes: usize, redact: &[&str]) -> DefaultNormalizer {
    DefaultNormalizer::new(&NormalizeConfig {
        max_message_bytes,
        redact: redact.iter().map(|s| (*s).to_owned()).collect(),
    })
    .unwrap()
}

#[test]
fn long_messages_are_cut_on_a_character_boundary_and_counted() {
    let n = normalizer(10, &["default"]);
    let (events, c) = counters(|| {
        [
            n.normalize_json(&event_json("ünïcödé-text")).unwrap(),
            n.normalize_json(&event_json("short")).unwrap(),
        ]
    });
    assert_eq!(events[0].message, "ünïcöd", "the 10th byte is inside `é`");
    assert!(events[0].message.len() <= 10);
    assert!(events[0].truncated);
    assert!(!events[1].truncated);
    assert_eq!(c.get(MESSAGES_TRUNCATED_TOTAL), Some(&1));
    assert_eq!(c.get(MESSAGES_REDACTED_TOTAL), None);
}

#[test]
fn a_one_mebibyte_message_is_cut_to_the_limit() {
    let n = normalizer(4096, &["default"]);
    let huge = "x€".repeat((1 << 20) / 4);
    assert!(huge.len() >= 1 << 20);
    let (e, c) = counters(|| n.normalize_json(&event_json(&huge)).unwrap());
    assert!(e.truncated);
    assert!(e.message.len() <= 4096 && e.message.len() > 4090);
    assert!(huge.starts_with(&e.message));
    assert_eq!(c.get(MESSAGES_TRUNCATED_TOTAL), Some(&1));
}

#[test]
fn secrets_are_redacted_and_counted_once_per_message() {
    let n = normalizer(4096, &["default"]);
    let (e, c) = counters(|| {
        n.normalize_json(&event_json(
            "probe failed: GET https://api/health with Authorization: Bearer abcDEF0123456789xyz and password=hunter2",
        ))
        .unwrap()
    });
    assert_eq!(
        e.message,
        "probe failed: GET https://api/health with Authorization: Bearer [REDACTED] and password=[REDACTED]"
    );
    assert_eq!(c.get(MESSAGES_REDACTED_TOTAL), Some(&1));
}

#[test]
fn redaction_runs_before_truncation_so_no_half_secret_is_left() {
    let n = normalizer(30, &["default"]);
    let e = n
        .normalize_json(&event_json("x token=0123456789abcdefghijklmnop tail"))
        .unwrap();
    assert_eq!(e.message, "x token=[REDACTED] tail");
    assert!(!e.truncated);
}

#[test]
fn user_regexes_add_to_or_replace_the_defaults() {
    let only_user = normalizer(4096, &[r"customer-\d+"]);
    let e = only_user
        .normalize_json(&event_json("customer-42 password=x"))
        .unwrap();
    assert_eq!(e.message, "[REDACTED] password=x");

    let both = normalizer(4096, &["default", r"customer-\d+"]);
    let e = both
        .normalize_json(&event_json("customer-42 password=x"))
        .unwrap();
    assert_eq!(e.message, "[REDACTED] password=[REDACTED]");

    let none = normalizer(4096, &[]);
    let e = none.normalize_json(&event_json("password=x")).unwrap();
    assert_eq!(e.message, "password=x");
}

#[test]
fn sanitize_applies_to_replayed_kev_events_and_keeps_the_rest() {
    let n = normalizer(16, &["default"]);
    let event = Event {
        uid: "u".into(),
        resource_version: "7".into(),
        message: "secret=abc and then a long tail".into(),
        count: 3,
        ..Default::default()
    };
    let (clean, c) = counters(|| n.sanitize(event.clone()));
    assert_eq!(clean.message, "secret=[REDACTED");
    assert!(clean.truncated);
    assert_eq!(clean.uid, "u");
    assert_eq!(clean.count, 3);
    assert_eq!(c.get(MESSAGES_REDACTED_TOTAL), Some(&1));
    assert_eq!(c.get(MESSAGES_TRUNCATED_TOTAL), Some(&1));
    // Already sanitized: nothing more happens, nothing is counted.
    let (again, c) = counters(|| n.sanitize(clean.clone()));
    assert_eq!(again, clean);
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn config_defaults_unknown_fields_and_bad_values() {
    let c: NormalizeConfig = serde_norway::from_str("{}").unwrap();
    assert_eq!(c, NormalizeConfig::default());
    assert_eq!(c.max_message_bytes, 4096);
    assert_eq!(c.redact, vec!["default".to_owned()]);

    let err = serde_norway::from_str::<NormalizeConfig>("max_message_byte: 10").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");

    let c: NormalizeConfig =
        serde_norway::from_str("redact: [default, 'ok-\\d+', '(unclosed']").unwrap();
    let err = DefaultNormalizer::new(&c).unwrap_err();
    assert_eq!(err.path, "redact[2]");
    assert_eq!(c.validate().unwrap_err().path, "redact[2]");

    let c = NormalizeConfig {
        max_message_bytes: 0,
        ..Default::default()
    };
    assert_eq!(c.validate().unwrap_err().path, "max_message_bytes");
}
