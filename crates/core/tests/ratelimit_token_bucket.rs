//! The token bucket limiter, step by step on a manual clock: buckets, cooldown, global
//! cap, keys, LRU eviction, and its config.

// Helpers outside #[test] fns panic on purpose too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use kev_core::{
    Decision::{self, Allow, Limited, Suppressed},
    Event, LimitKey, ManualClock, ObjectRef, RateLimitConfig, RateLimiter, SystemClock,
    TokenBucketLimiter,
};

fn event(name: &str, reason: &str) -> Event {
    Event {
        cluster: "prod".into(),
        namespace: "web".into(),
        reason: reason.into(),
        regarding: ObjectRef {
            kind: "Pod".into(),
            namespace: "web".into(),
            name: name.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn limiter(config: &RateLimitConfig) -> (TokenBucketLimiter, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let l = TokenBucketLimiter::new(config, "route-a", clock.clone()).unwrap();
    (l, clock)
}

fn decide_n(l: &mut TokenBucketLimiter, e: &Event, n: usize) -> Vec<Decision> {
    (0..n).map(|_| l.decide(e)).collect()
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn burst_then_limited_then_refill_at_rate() {
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 6.0, // one token every 10 s
        burst: 3,
        ..Default::default()
    });
    let e = event("web-0", "BackOff");
    assert_eq!(decide_n(&mut l, &e, 4), [Allow, Allow, Allow, Limited]);
    clock.advance(9 * SEC);
    assert_eq!(l.decide(&e), Limited);
    clock.advance(SEC);
    assert_eq!(decide_n(&mut l, &e, 2), [Allow, Limited]);
    // A long quiet spell refills to the burst, no more.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(decide_n(&mut l, &e, 4), [Allow, Allow, Allow, Limited]);
}

#[test]
fn fractional_rate() {
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 0.5, // one every two minutes
        burst: 1,
        ..Default::default()
    });
    let e = event("web-0", "BackOff");
    assert_eq!(l.decide(&e), Allow);
    clock.advance(Duration::from_secs(119));
    assert_eq!(l.decide(&e), Limited);
    clock.advance(SEC);
    assert_eq!(l.decide(&e), Allow);
}

#[test]
fn limited_events_consume_nothing() {
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 60.0,
        burst: 1,
        ..Default::default()
    });
    let e = event("web-0", "BackOff");
    assert_eq!(l.decide(&e), Allow);
    // A storm of denied repeats does not push the next token further away.
    for _ in 0..1000 {
        clock.advance(Duration::from_micros(900));
        assert_eq!(l.decide(&e), Limited);
    }
    clock.advance(Duration::from_millis(100));
    assert_eq!(l.decide(&e), Allow);
}

#[test]
fn cooldown_first_occurrence_then_quiet() {
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 600.0,
        burst: 10,
        cooldown: Some(Duration::from_secs(300)),
        ..Default::default()
    });
    let e = event("web-0", "BackOff");
    assert_eq!(decide_n(&mut l, &e, 3), [Allow, Suppressed, Suppressed]);
    // Suppressed repeats do not extend the cooldown.
    clock.advance(Duration::from_secs(299));
    assert_eq!(l.decide(&e), Suppressed);
    clock.advance(SEC);
    assert_eq!(decide_n(&mut l, &e, 2), [Allow, Suppressed]);
    // Another reason of the same object has its own cooldown (key: object_reason).
    assert_eq!(l.decide(&event("web-0", "Unhealthy")), Allow);
}

#[test]
fn cooldown_comes_before_the_bucket() {
    // An empty bucket inside a cooldown answers Suppressed, not Limited.
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 1.0,
        burst: 1,
        cooldown: Some(Duration::from_secs(10)),
        ..Default::default()
    });
    let e = event("web-0", "BackOff");
    assert_eq!(l.decide(&e), Allow);
    assert_eq!(l.decide(&e), Suppressed);
    clock.advance(Duration::from_secs(10));
    assert_eq!(l.decide(&e), Limited, "cooldown over, bucket still empty");
    clock.advance(Duration::from_secs(50));
    assert_eq!(l.decide(&e), Allow);
}

#[test]
fn global_cap_over_all_keys() {
    let (mut l, clock) = limiter(&RateLimitConfig {
        per_minute: 1.0,
        burst: 5,
        global_per_minute: Some(60.0),
        global_burst: Some(2),
        ..Default::default()
    });
    let a = event("a", "X");
    assert_eq!(l.decide(&a), Allow);
    assert_eq!(l.decide(&event("b", "X")), Allow);
    assert_eq!(l.decide(&event("c", "X")), Limited);
    assert_eq!(l.decide(&a), Limited);
    // A key refused by the global cap is not tracked and took nothing.
    assert_eq!(l.tracked_keys(), 2);
    assert!(!l.tracks(&event("c", "X")));
    // "a" takes a token of its five only when allowed: refusals by the cap in between
    // (one per second below) leave its bucket alone, so it passes 4 more, then is empty.
    for _ in 0..4 {
        clock.advance(SEC);
        assert_eq!(decide_n(&mut l, &a, 2), [Allow, Limited]);
    }
    clock.advance(SEC);
    assert_eq!(l.decide(&a), Limited, "a's own bucket is empty");
    assert_eq!(
        l.decide(&event("d", "X")),
        Allow,
        "the global bucket is not"
    );
}

#[test]
fn global_burst_defaults_to_one() {
    let (mut l, _clock) = limiter(&RateLimitConfig {
        per_minute: 60.0,
        burst: 5,
        global_per_minute: Some(60.0),
        ..Default::default()
    });
    assert_eq!(l.decide(&event("a", "X")), Allow);
    assert_eq!(l.decide(&event("b", "X")), Limited);
}

#[test]
fn keys_object_object_reason_route_global() {
    let a_backoff = event("a", "BackOff");
    let a_unhealthy = event("a", "Unhealthy");
    let b_backoff = event("b", "BackOff");
    let in_other_cluster = Event {
        cluster: "staging".into(),
        ..event("a", "BackOff")
    };
    let run = |key: LimitKey| {
        let (mut l, _clock) = limiter(&RateLimitConfig {
            key,
            per_minute: 1.0,
            burst: 1,
            ..Default::default()
        });
        [&a_backoff, &a_unhealthy, &b_backoff, &in_other_cluster]
            .map(|e| l.decide(e))
            .to_vec()
    };
    assert_eq!(run(LimitKey::ObjectReason), [Allow, Allow, Allow, Allow]);
    assert_eq!(run(LimitKey::Object), [Allow, Limited, Allow, Allow]);
    assert_eq!(run(LimitKey::Route), [Allow, Limited, Limited, Limited]);
    assert_eq!(run(LimitKey::Global), [Allow, Limited, Limited, Limited]);
}

#[test]
fn object_without_name_is_keyed_by_uid() {
    let (mut l, _clock) = limiter(&RateLimitConfig {
        key: LimitKey::Object,
        ..Default::default()
    });
    let nameless = |uid: &str| Event {
        regarding: ObjectRef {
            uid: uid.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(l.decide(&nameless("1")), Allow);
    assert_eq!(l.decide(&nameless("2")), Allow);
    assert_eq!(l.decide(&nameless("1")), Limited);
}

#[test]
fn lru_evicts_least_recently_seen_and_it_restarts_full() {
    let (mut l, _clock) = limiter(&RateLimitConfig {
        per_minute: 1.0,
        burst: 1,
        cooldown: Some(Duration::from_secs(3600)),
        max_keys: 2,
        ..Default::default()
    });
    let (a, b, c) = (event("a", "X"), event("b", "X"), event("c", "X"));
    assert_eq!(l.decide(&a), Allow);
    assert_eq!(l.decide(&b), Allow);
    // Seeing "a" again (even refused) makes it the most recently seen.
    assert_eq!(l.decide(&a), Suppressed);
    assert_eq!(l.decide(&c), Allow);
    assert_eq!(l.tracked_keys(), 2);
    assert_eq!(l.capacity(), 2);
    assert_eq!(l.evictions(), 1);
    assert!(l.tracks(&a) && l.tracks(&c) && !l.tracks(&b));
    // "b" was forgotten: it restarts with a full bucket and no cooldown.
    assert_eq!(l.decide(&b), Allow);
    assert_eq!(l.evictions(), 2);
    assert!(!l.tracks(&a));
    assert_eq!(l.decide(&c), Suppressed);
}

#[test]
fn memory_is_bounded_by_max_keys() {
    let (mut l, _clock) = limiter(&RateLimitConfig {
        max_keys: 100,
        ..Default::default()
    });
    for i in 0..10_000 {
        assert_eq!(l.decide(&event(&format!("pod-{i}"), "X")), Allow);
        assert!(l.tracked_keys() <= 100);
    }
    assert_eq!(l.tracked_keys(), 100);
    assert_eq!(l.evictions(), 10_000 - 100);
}

#[test]
fn config_from_yaml_with_defaults() {
    let c: RateLimitConfig = serde_norway::from_str("per_minute: 10").unwrap();
    assert_eq!(
        c,
        RateLimitConfig {
            key: LimitKey::ObjectReason,
            per_minute: 10.0,
            burst: 1,
            cooldown: None,
            global_per_minute: None,
            global_burst: None,
            max_keys: 10_000,
        }
    );
    let c: RateLimitConfig = serde_norway::from_str(
        "{key: object, per_minute: 0.5, burst: 3, cooldown: 1h30m, global_per_minute: 100, \
         global_burst: 20, max_keys: 500}",
    )
    .unwrap();
    assert_eq!(c.key, LimitKey::Object);
    assert_eq!(c.cooldown, Some(Duration::from_secs(5400)));
    assert_eq!(
        (c.global_per_minute, c.global_burst),
        (Some(100.0), Some(20))
    );
    c.validate().unwrap();
    let c: RateLimitConfig = serde_norway::from_str("{per_minute: 1, cooldown: 90}").unwrap();
    assert_eq!(c.cooldown, Some(Duration::from_secs(90)));
}

#[test]
fn config_errors_name_the_field() {
    for (yaml, path) in [
        ("per_minute: 0", "per_minute"),
        ("per_minute: -3", "per_minute"),
        ("per_minute: .nan", "per_minute"),
        ("per_minute: .inf", "per_minute"),
        ("{per_minute: 1, burst: 0}", "burst"),
        ("{per_minute: 1, cooldown: 0s}", "cooldown"),
        ("{per_minute: 1, global_per_minute: 0}", "global_per_minute"),
        ("{per_minute: 1, global_burst: 3}", "global_burst"),
        (
            "{per_minute: 1, global_per_minute: 5, global_burst: 0}",
            "global_burst",
        ),
        ("{per_minute: 1, max_keys: 0}", "max_keys"),
    ] {
        let c: RateLimitConfig = serde_norway::from_str(yaml).unwrap();
        let err = c.validate().unwrap_err();
        assert_eq!(err.path, path, "{yaml}: {err}");
        let clock: Arc<ManualClock> = Arc::new(ManualClock::new());
        assert_eq!(
            TokenBucketLimiter::new(&c, "r", clock).unwrap_err(),
            err,
            "new() validates"
        );
    }
}

#[test]
fn config_refused_by_serde() {
    for (yaml, needle) in [
        ("{per_minute: 1, burts: 3}", "unknown field `burts`"),
        ("{per_minute: 1, key: pod}", "unknown variant `pod`"),
        ("{per_minute: 1, cooldown: 5 parsecs}", "invalid duration"),
        ("burst: 3", "missing field `per_minute`"),
    ] {
        let err = serde_norway::from_str::<RateLimitConfig>(yaml).unwrap_err();
        assert!(err.to_string().contains(needle), "{yaml}: {err}");
    }
}

#[test]
fn works_on_the_system_clock() {
    let config = RateLimitConfig {
        per_minute: 1.0,
        burst: 2,
        ..Default::default()
    };
    let mut l = TokenBucketLimiter::new(&config, "r", Arc::new(SystemClock::default())).unwrap();
    let e = event("a", "X");
    // A refill takes a minute; these three decisions take microseconds.
    assert_eq!(decide_n(&mut l, &e, 3), [Allow, Allow, Limited]);
    assert_eq!(l.route(), "r");
}

#[test]
fn limiter_is_a_send_trait_object() {
    let (l, _clock) = limiter(&RateLimitConfig::default());
    let mut boxed: Box<dyn RateLimiter> = Box::new(l);
    let handle = std::thread::spawn(move || boxed.decide(&event("a", "X")));
    assert_eq!(handle.join().unwrap(), Allow);
}
