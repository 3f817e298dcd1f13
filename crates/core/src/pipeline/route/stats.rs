//! What a route counts: the [`Tally`] of one batch, flushed once into the run's
//! [`RouteReport`], the live [`RouteStats`] and the metrics, so the three always agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::metrics as m;
use crate::ratelimit::Decision;
use crate::remediation::GateDecision;

/// What a route did during one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteReport {
    pub route: String,
    pub delivered: u64,
    pub filtered: u64,
    pub limited: u64,
    pub suppressed: u64,
    pub dead_lettered: u64,
    /// Held back by the remediation gate (below the occurrence threshold or cooling down).
    pub gated: u64,
    /// The committed cursor when the route stopped.
    pub cursor: u64,
}

/// Live counters of a route, readable while it runs (an EventPolicy's status reads
/// them). Cheap to clone; clones share the counters. Hand the same handle to the route
/// that replaces this one ([`super::Route::stats_handle`]) and the counts go on.
///
/// ```
/// use std::sync::Arc;
/// use kev_core::pipeline::{Route, RouteStats};
/// let stats = RouteStats::default();
/// let route = Route::new("r", Arc::new(kev_core::filter::KeepAll)).stats_handle(stats.clone());
/// assert_eq!(route.stats().snapshot(), stats.snapshot());
/// assert_eq!(stats.snapshot().matched, 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RouteStats(Arc<RouteCounters>);

#[derive(Debug, Default)]
struct RouteCounters {
    matched: AtomicU64,
    delivered: AtomicU64,
    dead_lettered: AtomicU64,
    limited: AtomicU64,
    cooled_down: AtomicU64,
    below_threshold: AtomicU64,
    /// Unix milliseconds of the last match; 0: none yet.
    last_matched_ms: AtomicI64,
}

/// The counters of a [`RouteStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStatsSnapshot {
    /// Events that passed the route's filter.
    pub matched: u64,
    /// Events every sink acknowledged.
    pub delivered: u64,
    /// Events dead-lettered after a permanent failure.
    pub dead_lettered: u64,
    /// Events the rate limiter held back (limited or suppressed).
    pub limited: u64,
    /// Events the remediation gate held back because the problem cools down.
    pub cooled_down: u64,
    /// Events the remediation gate held back below its occurrence threshold.
    pub below_threshold: u64,
    /// When an event last passed the filter.
    pub last_matched: Option<jiff::Timestamp>,
}

impl RouteStats {
    pub fn snapshot(&self) -> RouteStatsSnapshot {
        let c = &self.0;
        let last = c.last_matched_ms.load(Ordering::Relaxed);
        RouteStatsSnapshot {
            matched: c.matched.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            limited: c.limited.load(Ordering::Relaxed),
            cooled_down: c.cooled_down.load(Ordering::Relaxed),
            below_threshold: c.below_threshold.load(Ordering::Relaxed),
            last_matched: (last > 0)
                .then(|| jiff::Timestamp::from_millisecond(last).ok())
                .flatten(),
        }
    }
}

/// The decisions and outcomes of one batch of a route.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Tally {
    pub filtered: u64,
    pub matched: u64,
    pub allowed: u64,
    pub limited: u64,
    pub suppressed: u64,
    pub fired: u64,
    pub cooled_down: u64,
    pub below_threshold: u64,
    pub delivered: u64,
    pub dead_lettered: u64,
}

impl Tally {
    pub fn limiter(&mut self, decision: Decision) {
        match decision {
            Decision::Allow => self.allowed += 1,
            Decision::Limited => self.limited += 1,
            Decision::Suppressed => self.suppressed += 1,
        }
    }

    pub fn gate(&mut self, decision: &GateDecision) {
        match decision {
            GateDecision::Fire => self.fired += 1,
            GateDecision::Cooldown { .. } => self.cooled_down += 1,
            GateDecision::BelowThreshold { .. } => self.below_threshold += 1,
        }
    }

    /// Adds the batch to the run's report, the live stats and the metrics of `route`.
    pub fn flush(self, route: &str, report: &mut RouteReport, stats: &RouteStats) {
        report.filtered += self.filtered;
        report.limited += self.limited;
        report.suppressed += self.suppressed;
        report.gated += self.cooled_down + self.below_threshold;
        report.delivered += self.delivered;
        report.dead_lettered += self.dead_lettered;

        let c = &stats.0;
        let add = |counter: &AtomicU64, n: u64| {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&c.matched, self.matched);
        add(&c.limited, self.limited + self.suppressed);
        add(&c.cooled_down, self.cooled_down);
        add(&c.below_threshold, self.below_threshold);
        add(&c.delivered, self.delivered);
        add(&c.dead_lettered, self.dead_lettered);
        if self.matched > 0 {
            c.last_matched_ms
                .store(jiff::Timestamp::now().as_millisecond(), Ordering::Relaxed);
        }

        if self.filtered > 0 {
            metrics::counter!(m::EVENTS_FILTERED_TOTAL, "stage" => "route")
                .increment(self.filtered);
        }
        for (decision, n) in [
            (Decision::Allow, self.allowed),
            (Decision::Limited, self.limited),
            (Decision::Suppressed, self.suppressed),
        ] {
            if n > 0 {
                metrics::counter!(m::ROUTE_DECISIONS_TOTAL, "route" => route.to_owned(), "decision" => decision.as_str())
                    .increment(n);
            }
        }
        for (decision, n) in [
            (GateDecision::FIRE, self.fired),
            (GateDecision::COOLDOWN, self.cooled_down),
            (GateDecision::BELOW_THRESHOLD, self.below_threshold),
        ] {
            if n > 0 {
                metrics::counter!(m::REMEDIATION_GATE_TOTAL, "route" => route.to_owned(), "decision" => decision)
                    .increment(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flush_agrees_in_report_and_stats() {
        let mut tally = Tally {
            filtered: 2,
            matched: 5,
            delivered: 3,
            dead_lettered: 1,
            ..Tally::default()
        };
        tally.limiter(Decision::Allow);
        tally.limiter(Decision::Limited);
        tally.limiter(Decision::Suppressed);
        tally.gate(&GateDecision::Fire);
        tally.gate(&GateDecision::BelowThreshold { seen: 1, needed: 3 });
        let mut report = RouteReport::default();
        let stats = RouteStats::default();
        tally.flush("r", &mut report, &stats);
        let snap = stats.snapshot();
        assert_eq!(
            (
                report.filtered,
                report.limited,
                report.suppressed,
                report.gated
            ),
            (2, 1, 1, 1)
        );
        assert_eq!((report.delivered, snap.delivered), (3, 3));
        assert_eq!((report.dead_lettered, snap.dead_lettered), (1, 1));
        assert_eq!(
            (
                snap.matched,
                snap.limited,
                snap.below_threshold,
                snap.cooled_down
            ),
            (5, 2, 1, 0)
        );
        assert!(snap.last_matched.is_some());
    }
}
