//! Property tests of the token bucket limiter over arbitrary arrival sequences.
//!
//! Two kinds of checks, on every generated sequence:
//! - the limiter agrees decision by decision with a model written differently (a bucket
//!   of credit that refills with elapsed time, a recency list for the LRU), so it
//!   neither denies nor allows more than specified;
//! - the bounds of issue 2 hold on the limiter's own decisions: for every key and every
//!   window of length T, allowed ≤ burst + ⌈rate·T⌉; with a cooldown C, allowed events of
//!   a key are at least C apart; the global cap holds over every window; tracked keys
//!   never exceed the capacity.
//!
//! An evicted key restarts with a full bucket and no cooldown (documented in
//! `ratelimit/token_bucket.rs`), so the per-key bounds are checked per key *lifetime*: a
//! lifetime starts when a key that is not tracked is allowed. That `tracks()` tells the
//! truth is itself checked against the model, and restarts are checked against the
//! limiter's eviction counter.

// Helpers outside #[test] fns panic on purpose too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use kev_core::{
    Decision, Event, LimitKey, ManualClock, ObjectRef, RateLimitConfig, RateLimiter,
    TokenBucketLimiter,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

// ---------------------------------------------------------------- the model

/// A bucket as credit in nanoseconds: full is `burst * interval`, a token costs
/// `interval`, and credit grows one per nanosecond that passes.
#[derive(Debug, Clone)]
struct ModelBucket {
    interval: u128,
    capacity: u128,
    credit: u128,
    last: u64,
}

impl ModelBucket {
    fn new(per_minute: f64, burst: u32, now: u64) -> Self {
        // The documented rounding: the refill interval is rounded up to whole ns.
        let interval = (60e9 / per_minute).ceil() as u128;
        let capacity = interval * u128::from(burst);
        Self {
            interval,
            capacity,
            credit: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: u64) {
        self.credit = (self.credit + u128::from(now - self.last)).min(self.capacity);
        self.last = now;
    }

    fn has_token(&mut self, now: u64) -> bool {
        self.refill(now);
        self.credit >= self.interval
    }

    fn take(&mut self) {
        self.credit -= self.interval;
    }
}

#[derive(Debug)]
struct ModelKey {
    id: usize,
    bucket: ModelBucket,
    quiet_until: u64,
}

#[derive(Debug)]
struct Model {
    config: RateLimitConfig,
    /// Most recently seen first.
    keys: VecDeque<ModelKey>,
    global: Option<ModelBucket>,
    evictions: u64,
}

impl Model {
    fn new(config: &RateLimitConfig) -> Self {
        Self {
            config: config.clone(),
            keys: VecDeque::new(),
            global: config
                .global_per_minute
                .map(|r| ModelBucket::new(r, config.global_burst.unwrap_or(1), 0)),
            evictions: 0,
        }
    }

    fn cooldown(&self) -> u64 {
        self.config.cooldown.map_or(0, |c| c.as_nanos() as u64)
    }

    fn decide(&mut self, id: usize, now: u64) -> Decision {
        let global_ok = match &mut self.global {
            Some(g) => g.has_token(now),
            None => true,
        };
        let cooldown = self.cooldown();
        if let Some(pos) = self.keys.iter().position(|k| k.id == id) {
            let mut key = self.keys.remove(pos).unwrap();
            let decision = if now < key.quiet_until {
                Decision::Suppressed
            } else if !key.bucket.has_token(now) || !global_ok {
                Decision::Limited
            } else {
                key.bucket.take();
                key.quiet_until = now + cooldown;
                if let Some(g) = &mut self.global {
                    g.take();
                }
                Decision::Allow
            };
            self.keys.push_front(key);
            return decision;
        }
        if !global_ok {
            return Decision::Limited;
        }
        if let Some(g) = &mut self.global {
            g.take();
        }
        let mut bucket = ModelBucket::new(self.config.per_minute, self.config.burst, now);
        bucket.take();
        self.keys.push_front(ModelKey {
            id,
            bucket,
            quiet_until: now + cooldown,
        });
        if self.keys.len() > self.config.max_keys {
            self.keys.pop_back();
            self.evictions += 1;
        }
        Decision::Allow
    }

    fn tracks(&self, id: usize) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }
}

// ---------------------------------------------------------------- generators

fn config() -> impl Strategy<Value = RateLimitConfig> {
    (
        0.1f64..1200.0,
        1u32..6,
        prop::option::of(1u64..120_000),
        prop::option::of((0.5f64..3000.0, prop::option::of(1u32..10))),
        1usize..12,
    )
        .prop_map(
            |(per_minute, burst, cooldown_ms, global, max_keys)| RateLimitConfig {
                key: LimitKey::ObjectReason,
                per_minute,
                burst,
                cooldown: cooldown_ms.map(Duration::from_millis),
                global_per_minute: global.map(|g| g.0),
                global_burst: global.and_then(|g| g.1),
                max_keys,
            },
        )
}

/// Nanoseconds between two arrivals: often none (bursts), else sub-millisecond,
/// seconds or minutes, or right at (and 1 ns short of) the edges that matter for
/// `config`: its refill intervals and its cooldown.
fn gap(config: &RateLimitConfig) -> impl Strategy<Value = u64> + use<> {
    let interval = |rate: f64| (60e9 / rate).ceil() as u64;
    let mut edges = vec![interval(config.per_minute)];
    edges.extend(config.global_per_minute.map(interval));
    edges.extend(config.cooldown.map(|c| c.as_nanos() as u64));
    let edges: Vec<u64> = edges.iter().flat_map(|&e| [e, e - 1, e / 2]).collect();
    prop_oneof![
        3 => Just(0u64),
        2 => 0u64..1_000_000,
        4 => 0u64..10_000_000_000,
        1 => 0u64..600_000_000_000,
        4 => prop::sample::select(edges),
    ]
}

/// A config, the number of distinct keys, and (key index, gap before it) pairs.
fn scenario() -> impl Strategy<Value = (RateLimitConfig, usize, Vec<(usize, u64)>)> {
    (config(), 1usize..10).prop_flat_map(|(config, keys)| {
        let arrivals = prop::collection::vec((0..keys, gap(&config)), 1..300);
        (Just(config), Just(keys), arrivals)
    })
}

// ---------------------------------------------------------------- the run

fn event_of(key: usize) -> Event {
    // Two reasons on the same objects: with key object_reason these are distinct keys.
    Event {
        cluster: "c".into(),
        reason: if key.is_multiple_of(2) {
            "BackOff"
        } else {
            "Unhealthy"
        }
        .into(),
        regarding: ObjectRef {
            kind: "Pod".into(),
            namespace: "ns".into(),
            name: format!("pod-{}", key / 2),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// One allowed event: when, which key, and which lifetime of that key.
#[derive(Debug, Clone, Copy)]
struct Allowed {
    at: u64,
    key: usize,
    life: u32,
}

fn run(
    config: &RateLimitConfig,
    keys: usize,
    arrivals: &[(usize, u64)],
) -> Result<Vec<Allowed>, TestCaseError> {
    let clock = Arc::new(ManualClock::new());
    let mut limiter = TokenBucketLimiter::new(config, "props", clock.clone()).unwrap();
    let mut model = Model::new(config);
    let events: Vec<Event> = (0..keys).map(event_of).collect();
    let mut lives = vec![0u32; keys];
    let mut ever_allowed = vec![false; keys];
    let mut restarts = 0u64;
    let mut allowed = Vec::new();
    let mut now = 0u64;
    for (step, &(key, gap)) in arrivals.iter().enumerate() {
        now += gap;
        clock.advance(Duration::from_nanos(gap));
        let was_tracked = limiter.tracks(&events[key]);
        prop_assert_eq!(was_tracked, model.tracks(key), "tracks() at step {}", step);
        let decision = limiter.decide(&events[key]);
        prop_assert_eq!(
            decision,
            model.decide(key, now),
            "decision at step {}",
            step
        );
        prop_assert!(limiter.tracked_keys() <= config.max_keys);
        prop_assert_eq!(limiter.tracked_keys(), model.keys.len());
        prop_assert_eq!(limiter.evictions(), model.evictions);
        if decision == Decision::Allow {
            if !was_tracked && ever_allowed[key] {
                // Forgotten and back: a new lifetime with a full bucket.
                lives[key] += 1;
                restarts += 1;
            }
            ever_allowed[key] = true;
            allowed.push(Allowed {
                at: now,
                key,
                life: lives[key],
            });
        }
    }
    // Every restart is explained by an eviction.
    prop_assert!(restarts <= limiter.evictions());
    if config.max_keys >= keys {
        prop_assert_eq!(limiter.evictions(), 0);
    }
    Ok(allowed)
}

/// For every window (the tightest window around `events[i..=j]` spans their times),
/// the count is at most `burst + ⌈rate·T⌉`.
fn check_windows(
    times: &[u64],
    per_minute: f64,
    burst: u32,
    what: &str,
) -> Result<(), TestCaseError> {
    for i in 0..times.len() {
        for j in i..times.len() {
            let window = times[j] - times[i];
            let bound = u64::from(burst) + (per_minute * window as f64 / 60e9).ceil() as u64;
            let count = (j - i + 1) as u64;
            prop_assert!(
                count <= bound,
                "{}: {} allowed within {} ns, bound {}",
                what,
                count,
                window,
                bound
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Relative to the crate root, where `cargo test` runs; committed.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/ratelimit_props.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn limiter_matches_model_and_bounds_hold((config, keys, arrivals) in scenario()) {
        let allowed = run(&config, keys, &arrivals)?;

        // Per key and lifetime: the rate bound over every window, and the cooldown.
        for key in 0..keys {
            let lives = allowed.iter().filter(|a| a.key == key).map(|a| a.life).max();
            for life in 0..=lives.unwrap_or(0) {
                let times: Vec<u64> = allowed
                    .iter()
                    .filter(|a| a.key == key && a.life == life)
                    .map(|a| a.at)
                    .collect();
                check_windows(&times, config.per_minute, config.burst, "key")?;
                if let Some(c) = config.cooldown {
                    for pair in times.windows(2) {
                        prop_assert!(
                            pair[1] - pair[0] >= c.as_nanos() as u64,
                            "allowed {} ns apart, cooldown {:?}", pair[1] - pair[0], c
                        );
                    }
                }
            }
        }
        // The global cap over all keys, never evicted.
        if let Some(rate) = config.global_per_minute {
            let times: Vec<u64> = allowed.iter().map(|a| a.at).collect();
            check_windows(&times, rate, config.global_burst.unwrap_or(1), "global")?;
        }
    }

    #[test]
    fn spaced_arrivals_are_all_allowed(
        per_minute in 0.1f64..1200.0,
        burst in 1u32..6,
        keys in 1usize..6,
        slack in prop::collection::vec(0u64..1_000_000_000, 1..100),
    ) {
        // One key at a time, each at least a refill interval after the last: all pass.
        // (A limiter that refuses too much fails here even without the model.)
        let config = RateLimitConfig { per_minute, burst, max_keys: keys, ..Default::default() };
        let interval = (60e9 / per_minute).ceil() as u64;
        let arrivals: Vec<(usize, u64)> =
            slack.iter().enumerate().map(|(i, s)| (i % keys, interval + s)).collect();
        let allowed = run(&config, keys, &arrivals)?;
        prop_assert_eq!(allowed.len(), arrivals.len());
    }

    #[test]
    fn many_keys_small_capacity(
        max_keys in 1usize..8,
        arrivals in prop::collection::vec((0usize..64, 0u64..2_000_000_000), 1..400),
    ) {
        // Far more keys than capacity: evictions happen all the time, and the
        // bounds still hold per lifetime (checked inside `run` against the model).
        let config = RateLimitConfig {
            per_minute: 30.0,
            burst: 2,
            cooldown: Some(Duration::from_secs(1)),
            max_keys,
            ..Default::default()
        };
        let allowed = run(&config, 64, &arrivals)?;
        prop_assert!(!allowed.is_empty());
    }
}
