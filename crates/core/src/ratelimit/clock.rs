//! [`ManualClock`]: a [`Clock`] that moves only when told, for deterministic tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Clock;

/// A clock that starts at zero and moves only by [`advance`](Self::advance). Share it
/// in an `Arc`: keep one handle to move time, give the other to the limiter.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use kev_core::{Clock, ManualClock};
/// let clock = Arc::new(ManualClock::new());
/// let seen_by_limiter: Arc<dyn Clock> = clock.clone();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(seen_by_limiter.now(), Duration::from_secs(90));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (saturating after some 584 years).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed is enough: the value is the only shared state.
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_and_saturates() {
        let c = ManualClock::new();
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now(), Duration::from_millis(1500));
        c.advance(Duration::MAX);
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX));
    }
}
