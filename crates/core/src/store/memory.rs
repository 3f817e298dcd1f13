//! [`MemoryStore`]: the in-memory [`Store`], reference for the conformance suite.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use super::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, Query, Result, Retention, Store,
    StoreError, StoreOp, StoreStats, StoredEvent,
};
use crate::event::{Event, IdempotencyKey};

/// A [`Store`] that keeps everything in memory; lost at exit. Used by tests, by
/// `store: {type: memory}` and as the model the persistent stores are checked against.
///
/// ```
/// use kev_core::{Event, MemoryStore, Store};
/// let store = MemoryStore::new();
/// let e = Event { uid: "u".into(), resource_version: "1".into(), ..Default::default() };
/// let out = store.append(&[e.clone(), e], None).unwrap();
/// assert_eq!((out.stored, out.duplicates), (1, 1));
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (seq, event, encoded length), in seq order: appends go to the back and retention
    /// takes from the front, so a deque does what a map would without rebalancing nodes.
    log: VecDeque<(u64, Event, u64)>,
    keys: HashSet<IdempotencyKey, foldhash::fast::RandomState>,
    /// Keys of removed events still in `keys`, oldest first, with their removal time in
    /// seconds (`super::remembered`).
    remembered: VecDeque<(i64, IdempotencyKey)>,
    last_seq: u64,
    bytes: u64,
    checkpoints: HashMap<String, Checkpoint>,
    cursors: BTreeMap<String, u64>,
    /// By id, which is insertion order.
    dead: BTreeMap<u64, DeadLetter>,
    last_dead_letter: u64,
    state: HashMap<(String, String), Vec<u8>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self, op: StoreOp) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| StoreError::Poisoned {
            op,
            backend: "memory",
        })
    }
}

/// Size an event counts for in `max_bytes` retention: its length in the persistent
/// stores' binary record, so the three backends count alike (JSON would cost more
/// than the rest of an append). `buf` is scratch space, reused across events.
pub(crate) fn encoded_len(event: &Event, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    super::codec::encode_event(event, buf);
    buf.len() as u64
}

impl MemoryStore {
    /// One append; `take` turns a new event into the one the log keeps (a move or a clone).
    fn append_with<E: std::borrow::Borrow<Event>>(
        &self,
        batch: impl IntoIterator<Item = E>,
        checkpoint: Option<&Checkpoint>,
        take: impl Fn(E) -> Event,
    ) -> Result<AppendOutcome> {
        let mut inner = self.lock(StoreOp::Append)?;
        let mut out = AppendOutcome::default();
        let mut buf = Vec::with_capacity(1024);
        for event in batch {
            if !inner.keys.insert(event.borrow().idempotency_key()) {
                out.duplicates += 1;
                continue;
            }
            inner.last_seq += 1;
            let seq = inner.last_seq;
            let len = encoded_len(event.borrow(), &mut buf);
            inner.bytes += len;
            inner.log.push_back((seq, take(event), len));
            out.stored += 1;
        }
        if let Some(cp) = checkpoint {
            inner.checkpoints.insert(cp.source.clone(), cp.clone());
        }
        out.last_seq = inner.last_seq;
        Ok(out)
    }
}

impl Store for MemoryStore {
    fn append(&self, batch: &[Event], checkpoint: Option<&Checkpoint>) -> Result<AppendOutcome> {
        self.append_with(batch, checkpoint, Event::clone)
    }

    fn append_owned(
        &self,
        batch: Vec<Event>,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<AppendOutcome> {
        self.append_with(batch, checkpoint, |e| e)
    }

    fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>> {
        Ok(self.lock(StoreOp::Read)?.checkpoints.get(source).cloned())
    }

    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let inner = self.lock(StoreOp::Read)?;
        let start = inner.log.partition_point(|(seq, _, _)| *seq < from);
        Ok(inner
            .log
            .range(start..)
            .take(limit)
            .map(|(seq, event, _)| StoredEvent {
                seq: *seq,
                event: event.clone(),
            })
            .collect())
    }

    fn last_seq(&self) -> Result<u64> {
        Ok(self.lock(StoreOp::Read)?.last_seq)
    }

    fn cursor(&self, route: &str) -> Result<u64> {
        Ok(self
            .lock(StoreOp::Read)?
            .cursors
            .get(route)
            .copied()
            .unwrap_or(0))
    }

    fn commit_cursor(&self, route: &str, seq: u64) -> Result<()> {
        self.lock(StoreOp::Commit)?
            .cursors
            .insert(route.to_owned(), seq);
        Ok(())
    }

    fn cursors(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .lock(StoreOp::Read)?
            .cursors
            .iter()
            .map(|(r, s)| (r.clone(), *s))
            .collect())
    }

    fn query(&self, query: &Query) -> Result<Vec<StoredEvent>> {
        let inner = self.lock(StoreOp::Read)?;
        let matching = inner
            .log
            .iter()
            .filter(|(_, event, _)| query.matches(event))
            .map(|(seq, event, _)| StoredEvent {
                seq: *seq,
                event: event.clone(),
            })
            .collect();
        Ok(query.finish(matching))
    }

    fn compact(
        &self,
        retention: &Retention,
        now: Timestamp,
        max_remove: u64,
    ) -> Result<CompactOutcome> {
        let mut inner = self.lock(StoreOp::Compact)?;
        let delivered = super::retention::delivered_through(
            inner.cursors.values().copied().min(),
            inner.dead.values().map(|d| d.seq).min(),
        );
        let mut out = CompactOutcome::default();
        while let Some(&(seq, ref event, len)) = inner.log.front() {
            let snapshot = super::retention::Snapshot {
                events: inner.log.len() as u64,
                bytes: inner.bytes,
                oldest_time: event.time(),
                oldest_len: len,
                oldest_delivered: seq <= delivered,
                now,
            };
            if !super::retention::take_oldest(retention, &snapshot, max_remove, &mut out) {
                break;
            }
            let key = event.idempotency_key();
            inner.log.pop_front();
            inner.bytes -= len;
            if retention.remember_removed.is_some() {
                inner.remembered.push_back((now.as_second(), key));
            } else {
                inner.keys.remove(&key);
            }
        }
        while let Some(&(removed_at, _)) = inner.remembered.front() {
            let held = inner.remembered.len() as u64;
            if !super::remembered::may_forget(retention, removed_at, held, now) {
                break;
            }
            if out.forgotten == max_remove {
                out.more = true;
                break;
            }
            if let Some((_, key)) = inner.remembered.pop_front() {
                inner.keys.remove(&key);
            }
            out.forgotten += 1;
        }
        if out.removed > 0 {
            super::telemetry::record_compaction("memory", &out);
        }
        Ok(out)
    }

    fn stats(&self) -> Result<StoreStats> {
        let inner = self.lock(StoreOp::Read)?;
        Ok(StoreStats {
            events: inner.log.len() as u64,
            bytes: inner.bytes,
            first_seq: inner.log.front().map_or(0, |(s, _, _)| *s),
            last_seq: inner.last_seq,
        })
    }

    fn dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let mut inner = self.lock(StoreOp::Write)?;
        inner.last_dead_letter += 1;
        let id = inner.last_dead_letter;
        inner.dead.insert(
            id,
            DeadLetter {
                id,
                ..letter.clone()
            },
        );
        Ok(())
    }

    fn dead_letters(&self, route: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>> {
        Ok(self
            .lock(StoreOp::Read)?
            .dead
            .values()
            .filter(|d| route.is_none_or(|r| r == d.route))
            .take(limit)
            .cloned()
            .collect())
    }

    fn remove_dead_letters(&self, ids: &[u64]) -> Result<Vec<DeadLetter>> {
        let mut inner = self.lock(StoreOp::Write)?;
        Ok(ids.iter().filter_map(|id| inner.dead.remove(id)).collect())
    }

    fn update_dead_letter(&self, letter: &DeadLetter) -> Result<bool> {
        let mut inner = self.lock(StoreOp::Write)?;
        Ok(match inner.dead.get_mut(&letter.id) {
            Some(held) => {
                held.error.clone_from(&letter.error);
                held.at = letter.at;
                true
            }
            None => false,
        })
    }

    fn get_state(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .lock(StoreOp::Read)?
            .state
            .get(&(namespace.to_owned(), key.to_owned()))
            .cloned())
    }

    fn put_state(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()> {
        self.lock(StoreOp::Write)?
            .state
            .insert((namespace.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uid: &str, rv: &str) -> Event {
        Event {
            uid: uid.into(),
            resource_version: rv.into(),
            message: "m".repeat(100),
            ..Default::default()
        }
    }

    #[test]
    fn append_owned_stores_and_counts_what_append_does() {
        let batch = vec![event("a", "1"), event("b", "1"), event("a", "1")];
        let by_ref = MemoryStore::new();
        let by_value = MemoryStore::new();
        let cp = Checkpoint {
            source: "s".into(),
            position: "3".into(),
        };
        let a = by_ref.append(&batch, Some(&cp)).unwrap();
        let b = by_value.append_owned(batch, Some(&cp)).unwrap();
        assert_eq!(a, b);
        assert_eq!((b.stored, b.duplicates, b.last_seq), (2, 1, 2));
        assert_eq!(
            by_ref.read_log(1, 10).unwrap(),
            by_value.read_log(1, 10).unwrap()
        );
        assert_eq!(by_ref.stats().unwrap(), by_value.stats().unwrap());
        assert_eq!(by_value.checkpoint("s").unwrap(), Some(cp));
        let again = by_value.append_owned(vec![event("b", "1")], None).unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 1));
    }
}
