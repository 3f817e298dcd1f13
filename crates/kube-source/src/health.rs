//! [`SourceHealth`]: readiness and counters of the watch, cheap to clone, for `/readyz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// A shared view of the source's health. Clones share the same state.
///
/// Ready when every watch has completed its first list or watch connect, none has failed
/// `failure_threshold` times in a row, and the last progress (event, bookmark or list
/// page) of every watch is younger than `stall_timeout`.
#[derive(Debug, Clone)]
pub struct SourceHealth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    epoch: Instant,
    failure_threshold: u32,
    stall_timeout: Duration,
    streams: Vec<StreamHealth>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct StreamHealth {
    synced: AtomicBool,
    connected: AtomicBool,
    failures: AtomicU32,
    /// Milliseconds since `epoch`.
    last_progress_ms: AtomicU64,
}

#[derive(Debug, Default)]
struct Counters {
    expired: AtomicU64,
    stalled: AtomicU64,
    failures: AtomicU64,
    skipped: AtomicU64,
    deleted: AtomicU64,
    events: AtomicU64,
    bookmarks: AtomicU64,
}

/// What the watch did so far; the same numbers as the metrics, for tests and `kev stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Relists after 410 Expired / Gone.
    pub restarts_expired: u64,
    /// Watches restarted by the watchdog.
    pub restarts_stalled: u64,
    /// Failed connects and broken streams.
    pub failures: u64,
    /// Objects skipped: not decodable as an Event, or oversized.
    pub skipped: u64,
    /// DELETED watch events (counted, not emitted).
    pub deleted: u64,
    /// ADDED/MODIFIED events and listed items emitted.
    pub events: u64,
    pub bookmarks: u64,
}

impl SourceHealth {
    pub(crate) fn new(streams: usize, failure_threshold: u32, stall_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                failure_threshold,
                stall_timeout,
                streams: (0..streams).map(|_| StreamHealth::default()).collect(),
                counters: Counters::default(),
            }),
        }
    }

    /// Whether `/readyz` should pass.
    pub fn is_ready(&self) -> bool {
        let i = &self.inner;
        !i.streams.is_empty()
            && i.streams.iter().all(|s| {
                s.synced.load(Ordering::Relaxed)
                    && s.failures.load(Ordering::Relaxed) < i.failure_threshold
            })
            && self.last_progress_age() <= i.stall_timeout
    }

    /// Why the source is not ready, for the `/readyz` body; `None` when ready.
    pub fn not_ready_reason(&self) -> Option<String> {
        let i = &self.inner;
        if i.streams.is_empty() {
            return Some("kube source not started".into());
        }
        if i.streams.iter().any(|s| !s.synced.load(Ordering::Relaxed)) {
            return Some("kube watch has not synced yet".into());
        }
        let failures = self.consecutive_failures();
        if failures >= i.failure_threshold {
            return Some(format!("kube watch failed {failures} times in a row"));
        }
        let age = self.last_progress_age();
        if age > i.stall_timeout {
            return Some(format!(
                "kube watch made no progress for {}s",
                age.as_secs()
            ));
        }
        None
    }

    /// Age of the oldest last progress over all watches.
    pub fn last_progress_age(&self) -> Duration {
        let now = self.now_ms();
        let oldest = self
            .inner
            .streams
            .iter()
            .map(|s| s.last_progress_ms.load(Ordering::Relaxed))
            .min()
            .unwrap_or(now);
        Duration::from_millis(now.saturating_sub(oldest))
    }

    /// The largest count of consecutive failures over all watches.
    pub fn consecutive_failures(&self) -> u32 {
        self.inner
            .streams
            .iter()
            .map(|s| s.failures.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Watches connected right now.
    pub fn connected(&self) -> usize {
        self.inner
            .streams
            .iter()
            .filter(|s| s.connected.load(Ordering::Relaxed))
            .count()
    }

    pub fn stats(&self) -> WatchStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WatchStats {
            restarts_expired: get(&c.expired),
            restarts_stalled: get(&c.stalled),
            failures: get(&c.failures),
            skipped: get(&c.skipped),
            deleted: get(&c.deleted),
            events: get(&c.events),
            bookmarks: get(&c.bookmarks),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn stream(&self, i: usize) -> Option<&StreamHealth> {
        self.inner.streams.get(i)
    }

    pub(crate) fn progress(&self, i: usize) {
        if let Some(s) = self.stream(i) {
            s.last_progress_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    pub(crate) fn synced(&self, i: usize) {
        if let Some(s) = self.stream(i) {
            s.synced.store(true, Ordering::Relaxed);
            s.failures.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_connected(&self, i: usize, connected: bool) {
        if let Some(s) = self.stream(i) {
            s.connected.store(connected, Ordering::Relaxed);
        }
    }

    /// Records a failure; returns the consecutive count.
    pub(crate) fn failed(&self, i: usize) -> u32 {
        self.inner.counters.failures.fetch_add(1, Ordering::Relaxed);
        self.stream(i)
            .map_or(0, |s| s.failures.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub(crate) fn count_expired(&self) {
        self.inner.counters.expired.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_stalled(&self) {
        self.inner.counters.stalled.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_skipped(&self) {
        self.inner.counters.skipped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_deleted(&self) {
        self.inner.counters.deleted.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_events(&self, n: u64) {
        self.inner.counters.events.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn count_bookmark(&self) {
        self.inner
            .counters
            .bookmarks
            .fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn readiness_follows_sync_failures_and_progress_age() {
        let h = SourceHealth::new(2, 3, Duration::from_secs(60));
        h.progress(0);
        h.progress(1);
        assert!(!h.is_ready(), "not synced yet");
        h.synced(0);
        h.synced(1);
        assert!(h.is_ready());
        assert_eq!((h.failed(1), h.failed(1)), (1, 2));
        assert!(h.is_ready(), "below the threshold");
        h.failed(1);
        assert!(h.not_ready_reason().unwrap().contains("3 times"));
        h.synced(1);
        assert!(h.is_ready());
        tokio::time::advance(Duration::from_secs(61)).await;
        h.progress(0);
        assert!(!h.is_ready(), "stream 1 made no progress for 61s");
        h.progress(1);
        assert!(h.is_ready());
    }
}
