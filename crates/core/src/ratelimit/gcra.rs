//! [`Gcra`]: a token bucket kept as one number, the theoretical arrival time (TAT).
//!
//! A bucket of `burst` tokens refilled at one token per `interval` is full at time `t`
//! when `TAT <= t`; it holds `burst - (TAT - t) / interval` tokens otherwise. An event
//! may take a token when `TAT - t <= (burst - 1) * interval`; taking it moves TAT to
//! `max(TAT, t) + interval`. All in integer nanoseconds, so there is no rounding drift.

/// The shape of one bucket: its refill interval and burst, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    interval: u64,
    /// `(burst - 1) * interval`: how far TAT may run ahead of now.
    tolerance: u64,
}

impl Gcra {
    /// A bucket of `burst` tokens (at least 1) refilled at `per_minute` tokens a minute.
    ///
    /// The interval is rounded up to whole nanoseconds, so the bucket never refills
    /// faster than configured. `per_minute` must be finite and positive (checked by
    /// `RateLimitConfig::validate`); anything else gives the slowest possible bucket.
    pub fn new(per_minute: f64, burst: u32) -> Self {
        let interval = (60e9 / per_minute).ceil();
        // `as` saturates: NaN → 0, too large → u64::MAX.
        let interval = (interval as u64).max(1);
        let tolerance = interval.saturating_mul(u64::from(burst.max(1)) - 1);
        Self {
            interval,
            tolerance,
        }
    }

    /// The TAT of a full bucket at `now`.
    pub fn full(now: u64) -> u64 {
        now
    }

    /// Whether a token is available at `now` for a bucket at `tat`.
    #[inline]
    pub fn conforms(&self, tat: u64, now: u64) -> bool {
        tat.saturating_sub(self.tolerance) <= now
    }

    /// The TAT after taking one token at `now`; call only when [`conforms`](Self::conforms).
    #[inline]
    pub fn take(&self, tat: u64, now: u64) -> u64 {
        tat.max(now).saturating_add(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_refill_at_rate() {
        let g = Gcra::new(60.0, 3); // one token a second, three at most
        let mut tat = Gcra::full(0);
        for _ in 0..3 {
            assert!(g.conforms(tat, 0));
            tat = g.take(tat, 0);
        }
        assert!(!g.conforms(tat, 0));
        assert!(!g.conforms(tat, SEC - 1));
        assert!(g.conforms(tat, SEC));
        tat = g.take(tat, SEC);
        assert!(!g.conforms(tat, SEC));
        // A long pause refills only up to the burst.
        let later = 100 * SEC;
        for _ in 0..3 {
            assert!(g.conforms(tat, later));
            tat = g.take(tat, later);
        }
        assert!(!g.conforms(tat, later));
    }

    #[test]
    fn interval_rounds_up_and_saturates() {
        assert_eq!(Gcra::new(7.0, 1).interval, 8_571_428_572);
        assert_eq!(Gcra::new(1e-300, 1).interval, u64::MAX);
        assert_eq!(Gcra::new(1e300, 1).interval, 1);
        let slow = Gcra::new(1e-300, u32::MAX);
        assert_eq!(slow.tolerance, u64::MAX);
        assert_eq!(slow.take(u64::MAX - 1, 5), u64::MAX);
    }
}
