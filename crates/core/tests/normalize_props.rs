//! Properties of the default normalizer over arbitrary input: messages fit the byte
//! budget on a character boundary and never lose more than the cut; times are ordered;
//! counts are at least 1; nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::sync::LazyLock;

use kev_core::normalize::Redactor;
use kev_core::{DefaultNormalizer, NormalizeConfig};
use proptest::prelude::*;

/// Budgets to try, each with its normalizer (compiling the regexes once).
static NORMALIZERS: LazyLock<Vec<(usize, DefaultNormalizer)>> = LazyLock::new(|| {
    [1, 2, 3, 4, 5, 7, 16, 31, 64, 100, 299]
        .into_iter()
        .map(|max| {
            let config = NormalizeConfig {
                max_message_bytes: max,
                ..Default::default()
            };
            (max, DefaultNormalizer::new(&config).unwrap())
        })
        .collect()
});
static REDACTOR: LazyLock<Redactor> =
    LazyLock::new(|| Redactor::new(&NormalizeConfig::default().redact).unwrap());

fn time() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("null".to_owned())),
        Just(Some(String::new())),
        (0i64..2_000_000_000, 0u32..1_000_000).prop_map(|(s, us)| {
            let t = jiff::Timestamp::from_second(s).unwrap()
                + jiff::SignedDuration::from_micros(us.into());
            Some(t.to_string())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_fit_the_budget_and_keep_the_redacted_prefix(
        message in "(\\PC|password=|Bearer |token: |AKIA|eyJ|é|😀){0,120}",
        which in 0usize..11,
    ) {
        let (max, n) = (NORMALIZERS[which].0, &NORMALIZERS[which].1);
        let redacted = REDACTOR.redact(&message).unwrap_or_else(|| message.clone());
        let raw = serde_json::json!({"metadata": {"name": "a"}, "involvedObject": {}, "message": message});
        let e = n.normalize_json(&serde_json::to_vec(&raw).unwrap()).unwrap();
        prop_assert!(e.message.len() <= max);
        prop_assert!(redacted.starts_with(&e.message));
        prop_assert_eq!(e.truncated, redacted.len() > max);
        if e.truncated {
            // Cut at most one character short of the budget.
            prop_assert!(max - e.message.len() < 4);
        }
    }

    #[test]
    fn times_are_ordered_and_counts_positive(
        first in time(), last in time(), event_time in time(), series_last in time(),
        creation in time(), count in prop::option::of(-5i64..5), series_count in prop::option::of(-5i64..5),
    ) {
        let mut raw = serde_json::json!({
            "metadata": {"name": "a", "creationTimestamp": creation},
            "involvedObject": {},
            "firstTimestamp": first, "lastTimestamp": last, "eventTime": event_time,
            "count": count,
        });
        if series_last.is_some() || series_count.is_some() {
            raw["series"] = serde_json::json!({"count": series_count, "lastObservedTime": series_last});
        }
        let n = &NORMALIZERS[0].1;
        let e = n.normalize_json(&serde_json::to_vec(&raw).unwrap()).unwrap();
        prop_assert!(e.count >= 1);
        prop_assert_eq!(e.first_seen.is_some(), e.last_seen.is_some());
        prop_assert!(e.first_seen <= e.last_seen);
        // The same input always gives the same idempotency key.
        let again = n.normalize_json(&serde_json::to_vec(&raw).unwrap()).unwrap();
        prop_assert_eq!(e.idempotency_key(), again.idempotency_key());
    }

    #[test]
    fn arbitrary_json_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,200}") {
        let n = &NORMALIZERS[10].1;
        let _ = n.normalize_json(&bytes);
        let _ = n.normalize_json(text.as_bytes());
    }
}
