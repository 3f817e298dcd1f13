//! [`ObservedStore`]: a [`MemoryStore`] that records, per appended event, the time from
//! its event time to its append (the ingest bench's lag), and can be made slow to
//! append (a consumer that falls behind its watch).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kev_core::store::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, Query, Retention, StoreStats,
    StoredEvent,
};
use kev_core::{Event, MemoryStore, Store, StoreError};

#[derive(Debug, Default)]
pub struct ObservedStore {
    pub inner: Arc<MemoryStore>,
    append_delay: Duration,
    lags: Mutex<Vec<f64>>,
}

impl ObservedStore {
    /// Every append first sleeps `delay` (the store is a blocking API: the thread waits).
    pub fn with_append_delay(delay: Duration) -> Self {
        Self {
            append_delay: delay,
            ..Self::default()
        }
    }

    /// Seconds from each appended event's `last_seen` to its append, in append order.
    pub fn lags(&self) -> Vec<f64> {
        self.lags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Store for ObservedStore {
    fn append(
        &self,
        batch: &[Event],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<AppendOutcome, StoreError> {
        if !self.append_delay.is_zero() {
            std::thread::sleep(self.append_delay);
        }
        let now = jiff::Timestamp::now();
        self.lags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(
                batch
                    .iter()
                    .filter_map(|e| e.last_seen)
                    .map(|t| now.duration_since(t).as_secs_f64()),
            );
        self.inner.append(batch, checkpoint)
    }
    fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.checkpoint(source)
    }
    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_log(from, limit)
    }
    fn last_seq(&self) -> Result<u64, StoreError> {
        self.inner.last_seq()
    }
    fn cursor(&self, route: &str) -> Result<u64, StoreError> {
        self.inner.cursor(route)
    }
    fn commit_cursor(&self, route: &str, seq: u64) -> Result<(), StoreError> {
        self.inner.commit_cursor(route, seq)
    }
    fn cursors(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.cursors()
    }
    fn query(&self, query: &Query) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.query(query)
    }
    fn compact(
        &self,
        r: &Retention,
        now: jiff::Timestamp,
        max: u64,
    ) -> Result<CompactOutcome, StoreError> {
        self.inner.compact(r, now, max)
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats()
    }
    fn dead_letter(&self, l: &DeadLetter) -> Result<(), StoreError> {
        self.inner.dead_letter(l)
    }
    fn dead_letters(
        &self,
        route: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(route, limit)
    }
    fn remove_dead_letters(&self, ids: &[u64]) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.remove_dead_letters(ids)
    }
    fn update_dead_letter(&self, l: &DeadLetter) -> Result<bool, StoreError> {
        self.inner.update_dead_letter(l)
    }
    fn get_state(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_state(ns, key)
    }
    fn put_state(&self, ns: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.put_state(ns, key, value)
    }
}
