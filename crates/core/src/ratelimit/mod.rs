//! The [`RateLimiter`] trait and its injectable [`Clock`]; [`TokenBucketLimiter`] builds
//! one from a [`RateLimitConfig`], and [`ManualClock`] drives it in tests.

use std::time::Duration;

use crate::event::Event;

mod clock;
mod config;
mod gcra;
mod key;
mod token_bucket;

pub use clock::ManualClock;
pub use config::{LimitKey, RateLimitConfig};
pub use token_bucket::TokenBucketLimiter;

/// A limiter's answer for one event. The three are told apart in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    /// Over the key's rate or the global cap.
    Limited,
    /// Inside the key's cooldown after an allowed event.
    Suppressed,
}

impl Decision {
    /// Label value for `kev_route_decisions_total{decision}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Limited => "limited",
            Self::Suppressed => "suppressed",
        }
    }
}

/// Monotonic time as seen by a limiter: elapsed since an arbitrary origin.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Duration;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Decides whether an event may pass, per key, with bounded memory.
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    fn decide(&mut self, event: &Event) -> Decision;
}
