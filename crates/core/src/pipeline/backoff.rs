//! [`Backoff`]: exponential delays with full jitter, for sink retries and reconnects.

use std::time::Duration;

/// Exponential backoff: `initial` doubling up to `max`, each delay drawn uniformly from
/// `[delay/2, delay]` so that many clients do not retry in lockstep.
///
/// ```
/// use std::time::Duration;
/// use kev_core::pipeline::Backoff;
/// let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
/// let d = b.next_delay();
/// assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    attempts: u32,
    seed: u64,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
            | 1;
        Self {
            initial,
            max: max.max(initial),
            current: initial,
            attempts: 0,
            seed,
        }
    }

    /// The delay before the next attempt; doubles the base for the one after.
    pub fn next_delay(&mut self) -> Duration {
        self.attempts += 1;
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = base / 2;
        half + half.mul_f64(self.unit_random())
    }

    /// Failed attempts since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn reset(&mut self) {
        self.current = self.initial;
        self.attempts = 0;
    }

    /// xorshift64*: jitter needs spread, not cryptographic quality.
    fn unit_random(&mut self) -> f64 {
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        let r = self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_jitter_bounds() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut base = Duration::from_secs(1);
        for _ in 0..12 {
            let d = b.next_delay();
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} outside [{:?}, {base:?}]",
                base / 2
            );
            base = (base * 2).min(Duration::from_secs(60));
        }
        assert_eq!(b.attempts(), 12);
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }
}
