//! [`Gate`]: the checks `record` makes on the caller's thread, in order: "first
//! occurrence, then quiet", then the spam filter. Both are bounded LRUs.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use kev_core::config::ConfigError;
use kev_core::{
    Clock, Decision, Event, LimitKey, RateLimitConfig, RateLimiter, TokenBucketLimiter,
};
use lru::LruCache;

use super::config::RecorderConfig;
use super::new_event::{DropReason, NewEvent};

/// Quiet cooldowns and the spam filter of one recorder.
#[derive(Debug)]
pub(crate) struct Gate {
    spam: TokenBucketLimiter,
    /// (object, reason) hash → clock nanos before which the pair stays quiet.
    quiet: LruCache<u64, Duration>,
    default_quiet: Option<Duration>,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
}

impl Gate {
    pub(crate) fn new(config: &RecorderConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        // client-go's spam key is (source, object, type). One limiter serves one source
        // (this recorder), so the limiter's `object_reason` key carries the object in
        // `regarding` and the type in `reason` (see `spam_key`).
        let limits = RateLimitConfig {
            key: LimitKey::ObjectReason,
            per_minute: config.spam_per_minute,
            burst: config.spam_burst,
            cooldown: None,
            global_per_minute: None,
            global_burst: None,
            max_keys: config.cache_size,
        };
        let spam = TokenBucketLimiter::new(&limits, "recorder", Arc::clone(&clock))
            .map_err(|e| ConfigError::new(spam_field(&e.path), e.message))?;
        let capacity = NonZeroUsize::new(config.cache_size)
            .ok_or_else(|| ConfigError::new("cache_size", "must be at least 1"))?;
        Ok(Self {
            spam,
            quiet: LruCache::new(capacity),
            default_quiet: config.quiet_cooldown,
            hasher: RandomState::new(),
            clock,
        })
    }

    /// Whether `event` may go on; a refusal consumes nothing.
    pub(crate) fn admit(&mut self, event: &NewEvent) -> Result<(), DropReason> {
        let now = self.clock.now();
        let quiet = event.quiet_for.or(self.default_quiet);
        let quiet_slot = quiet.map(|_| {
            let o = &event.regarding;
            self.hasher.hash_one((
                &o.api_version,
                &o.kind,
                &o.namespace,
                &o.name,
                &o.uid,
                &event.reason,
            ))
        });
        if let Some(slot) = quiet_slot
            && self.quiet.peek(&slot).is_some_and(|until| now < *until)
        {
            return Err(DropReason::Quiet);
        }
        if self.spam.decide(&spam_key(event)) != Decision::Allow {
            return Err(DropReason::Spam);
        }
        if let (Some(slot), Some(cooldown)) = (quiet_slot, quiet) {
            self.quiet.put(slot, now.saturating_add(cooldown));
        }
        Ok(())
    }

    /// Keys the spam filter remembers now.
    pub(crate) fn spam_keys(&self) -> usize {
        self.spam.tracked_keys()
    }
}

/// The limiter's view of an event: (object incl. apiVersion and uid, type).
fn spam_key(event: &NewEvent) -> Event {
    let o = &event.regarding;
    let mut regarding = o.clone();
    // The limiter hashes namespace, kind and name; client-go's key also has apiVersion
    // and uid (a re-created object is a new object).
    regarding.namespace = format!("{}\u{0}{}\u{0}{}", o.namespace, o.api_version, o.uid);
    Event {
        regarding,
        reason: event.r#type.as_str().to_owned(),
        ..Event::default()
    }
}

fn spam_field(path: &str) -> &'static str {
    match path {
        "per_minute" => "spam_per_minute",
        "burst" => "spam_burst",
        _ => "cache_size",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_core::{ManualClock, ObjectRef};

    fn pod(name: &str) -> ObjectRef {
        ObjectRef {
            kind: "Pod".into(),
            namespace: "ns".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            ..Default::default()
        }
    }

    #[test]
    fn spam_filter_has_client_go_defaults() {
        let clock = Arc::new(ManualClock::new());
        let mut gate = Gate::new(&RecorderConfig::default(), clock.clone()).unwrap();
        let e = NewEvent::warning(&pod("a"), "Failed", "Sync", "x");
        for i in 0..25 {
            assert_eq!(gate.admit(&e), Ok(()), "event {i}");
        }
        assert_eq!(gate.admit(&e), Err(DropReason::Spam));
        // Another reason shares the (object, type) bucket, another type does not.
        assert_eq!(
            gate.admit(&NewEvent::warning(&pod("a"), "Other", "Sync", "x")),
            Err(DropReason::Spam)
        );
        assert_eq!(
            gate.admit(&NewEvent::normal(&pod("a"), "Other", "Sync", "x")),
            Ok(())
        );
        clock.advance(Duration::from_secs(299));
        assert_eq!(gate.admit(&e), Err(DropReason::Spam));
        clock.advance(Duration::from_secs(1));
        assert_eq!(gate.admit(&e), Ok(()));
        assert_eq!(gate.admit(&e), Err(DropReason::Spam));
    }

    #[test]
    fn first_occurrence_then_quiet() {
        let clock = Arc::new(ManualClock::new());
        let mut gate = Gate::new(&RecorderConfig::default(), clock.clone()).unwrap();
        let e = NewEvent::warning(&pod("a"), "Transient", "Sync", "x")
            .quiet_for(Duration::from_secs(60));
        assert_eq!(gate.admit(&e), Ok(()));
        assert_eq!(gate.admit(&e), Err(DropReason::Quiet));
        clock.advance(Duration::from_secs(59));
        assert_eq!(gate.admit(&e), Err(DropReason::Quiet));
        clock.advance(Duration::from_secs(1));
        assert_eq!(gate.admit(&e), Ok(()));
        // Other objects and reasons have their own cooldown.
        assert_eq!(
            gate.admit(
                &NewEvent::warning(&pod("b"), "Transient", "Sync", "x")
                    .quiet_for(Duration::from_secs(60))
            ),
            Ok(())
        );
    }
}
