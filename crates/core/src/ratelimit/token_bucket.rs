//! [`TokenBucketLimiter`]: a token bucket per key, a cooldown, a global cap, and at most
//! `max_keys` keys remembered (least recently seen forgotten first).
//!
//! # One decision
//!
//! 1. The event's key is hashed (see below) and looked up; a key seen before becomes the
//!    most recently seen.
//! 2. Inside the key's cooldown: `Suppressed`.
//! 3. No token in the key's bucket, or none in the global bucket: `Limited`.
//! 4. Otherwise a token is taken from both buckets, the cooldown starts, and the answer
//!    is `Allow`.
//!
//! A denied event takes nothing from any bucket and does not extend the cooldown, so a
//! steady stream of repeats cannot starve a key forever; and a key that is denied is not
//! added to the tracked set, so a flood of new keys refused by the global cap evicts
//! nobody.
//!
//! # Bounded memory, and what eviction means
//!
//! Tracked keys live in an [`lru::LruCache`] of `max_keys` entries, each about 80 bytes
//! (a `u64` key hash, 16 bytes of state, list links, the table slot). When a new key is
//! allowed while the cache is full, the least recently seen key is forgotten. A forgotten
//! key that comes back is new again: **it restarts with a full bucket and no cooldown**,
//! so over its whole life a key may pass up to `burst` more events per eviction than the
//! rate alone would allow. [`evictions`](TokenBucketLimiter::evictions) counts these;
//! size `max_keys` above the number of keys active within a cooldown or refill period.
//! The global bucket is never evicted.
//!
//! Keys are stored as 64-bit hashes, so no string is built or kept per event; two keys
//! whose hashes collide share a bucket. The hasher is foldhash with a seed drawn at
//! random for each limiter: a chance collision has probability about n²/2⁶⁵ (some
//! 3·10⁻¹⁰ with 100k keys), and aiming one at another object's key would need the
//! seed (see `key.rs` for the trade-off).
//!
//! # Why not `governor`
//!
//! `governor` implements the same algorithm (GCRA) and was considered first. It does not
//! fit three requirements: a decision must check the key's bucket *and* the global
//! bucket and take from both or from neither (governor's check takes the token when it
//! conforms, with no way to give it back if the second bucket refuses); the cooldown
//! needs more state per key than governor's single `u64`; and its keyed state stores
//! (`DashMap`, `HashMap`) grow without bound, while a bounded one would have to wrap an
//! LRU in a lock behind governor's `StateStore` trait and its own clock types. The
//! [`RateLimiter`] trait takes `&mut self`, so the plain integer GCRA in `gcra.rs`
//! (a dozen lines, no atomics, no locks) does the job and is proven by the property
//! tests in `tests/ratelimit_props.rs`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use lru::LruCache;

use super::config::RateLimitConfig;
use super::gcra::Gcra;
use super::key::{KeyHasher, PassThroughState};
use super::{Clock, Decision, RateLimiter};
use crate::config::ConfigError;
use crate::event::Event;

/// What is remembered per key, in nanoseconds of the limiter's clock.
#[derive(Debug, Clone, Copy)]
struct KeyState {
    /// The key's bucket (see [`Gcra`]).
    tat: u64,
    /// Events before this time are suppressed.
    quiet_until: u64,
}

/// The bucket every allowed event passes too.
#[derive(Debug, Clone, Copy)]
struct GlobalBucket {
    gcra: Gcra,
    tat: u64,
}

/// The token bucket limiter configured by [`RateLimitConfig`]; see the module docs.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use kev_core::{Decision, Event, ManualClock, RateLimitConfig, RateLimiter, TokenBucketLimiter};
///
/// let config = RateLimitConfig { per_minute: 60.0, burst: 2, ..Default::default() };
/// let clock = Arc::new(ManualClock::new());
/// let mut limiter = TokenBucketLimiter::new(&config, "warnings", clock.clone()).unwrap();
/// let event = Event { reason: "BackOff".into(), ..Default::default() };
/// assert_eq!(limiter.decide(&event), Decision::Allow);
/// assert_eq!(limiter.decide(&event), Decision::Allow);
/// assert_eq!(limiter.decide(&event), Decision::Limited);
/// clock.advance(Duration::from_secs(1)); // one token a second
/// assert_eq!(limiter.decide(&event), Decision::Allow);
/// ```
#[derive(Debug)]
pub struct TokenBucketLimiter {
    route: String,
    keys: KeyHasher,
    bucket: Gcra,
    /// Nanoseconds; 0 is no cooldown.
    cooldown: u64,
    global: Option<GlobalBucket>,
    tracked: LruCache<u64, KeyState, PassThroughState>,
    evictions: u64,
    clock: Arc<dyn Clock>,
}

impl TokenBucketLimiter {
    /// Builds the limiter of `route` (whose name is the key for `key: route`), reading
    /// time from `clock` ([`SystemClock`](super::SystemClock) in production,
    /// [`ManualClock`](super::ManualClock) in tests). Validates `config` first.
    pub fn new(
        config: &RateLimitConfig,
        route: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let capacity = NonZeroUsize::new(config.max_keys)
            .ok_or_else(|| ConfigError::new("max_keys", "must be at least 1"))?;
        // Sparse: the table grows with the keys actually seen, up to `capacity`.
        let mut tracked = LruCache::unbounded_with_hasher(PassThroughState::default());
        tracked.resize(capacity);
        Ok(Self {
            route: route.to_owned(),
            keys: KeyHasher::new(config.key, route),
            bucket: Gcra::new(config.per_minute, config.burst),
            cooldown: config.cooldown.map_or(0, nanos),
            global: config.global_per_minute.map(|rate| GlobalBucket {
                gcra: Gcra::new(rate, config.global_burst.unwrap_or(1)),
                tat: 0,
            }),
            tracked,
            evictions: 0,
            clock,
        })
    }

    /// The route this limiter belongs to.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// How many keys are remembered now; never more than [`capacity`](Self::capacity).
    pub fn tracked_keys(&self) -> usize {
        self.tracked.len()
    }

    /// The most keys remembered at once (`max_keys`).
    pub fn capacity(&self) -> usize {
        self.tracked.cap().get()
    }

    /// How many keys were forgotten to make room for new ones since the limiter was built.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Whether the key of `event` is remembered now (without making it recently seen).
    /// A key that is not restarts with a full bucket and no cooldown.
    pub fn tracks(&self, event: &Event) -> bool {
        self.tracked.contains(&self.keys.key_of(event))
    }
}

impl RateLimiter for TokenBucketLimiter {
    fn decide(&mut self, event: &Event) -> Decision {
        let now = nanos(self.clock.now());
        let key = self.keys.key_of(event);
        match self.tracked.get_mut(&key) {
            Some(state) => {
                if now < state.quiet_until {
                    return Decision::Suppressed;
                }
                if !self.bucket.conforms(state.tat, now) || !global_conforms(&self.global, now) {
                    return Decision::Limited;
                }
                take_global(&mut self.global, now);
                state.tat = self.bucket.take(state.tat, now);
                state.quiet_until = now.saturating_add(self.cooldown);
                Decision::Allow
            }
            None => {
                // A new key's bucket is full and burst >= 1: only the global cap can refuse.
                if !global_conforms(&self.global, now) {
                    return Decision::Limited;
                }
                take_global(&mut self.global, now);
                let state = KeyState {
                    tat: self.bucket.take(Gcra::full(now), now),
                    quiet_until: now.saturating_add(self.cooldown),
                };
                if self.tracked.push(key, state).is_some() {
                    // `key` was absent, so what came back is an evicted key.
                    self.evictions += 1;
                }
                Decision::Allow
            }
        }
    }
}

fn global_conforms(global: &Option<GlobalBucket>, now: u64) -> bool {
    global.as_ref().is_none_or(|g| g.gcra.conforms(g.tat, now))
}

fn take_global(global: &mut Option<GlobalBucket>, now: u64) {
    if let Some(g) = global {
        g.tat = g.gcra.take(g.tat, now);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
