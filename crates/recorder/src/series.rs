//! [`SeriesCache`]: events.k8s.io/v1 series aggregation, as client-go's `tools/events`
//! broadcaster, as a pure state machine: it says which CREATE or PATCH to send, the
//! writer sends it.
//!
//! Isomorphic events (same type, action, reason, reporting controller and instance,
//! regarding and related object; the note does not count) share one entry:
//! 1st → CREATE; 2nd → PATCH `series: {count: 2, lastObservedTime}`; later → memory
//! only. [`SeriesCache::due`] names the entries whose series idled for
//! `series_finish` (final PATCH, then forgotten), whose singleton event is that old
//! (forgotten), or whose last write is `series_heartbeat` old (PATCH, so the Event
//! outlives the API server's TTL). The cache is an LRU of `cache_size` entries; an
//! entry pushed out with a count not yet written gets its final PATCH.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::events::v1::{Event as EventsEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kev_core::ObjectRef;
use lru::LruCache;
use serde_json::{Value, json};

use super::new_event::NewEvent;
use super::objects::{Times, namespace_of, reference};
use super::reporter::Reporter;

/// One series: the Event as created, and what was observed since.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    key: u64,
    /// The Event as first created (no series).
    event: EventsEvent,
    /// 0 for a singleton; the series count otherwise.
    count: i32,
    /// The count the API server has (last successful write).
    written: i32,
    first_at: Duration,
    last_at: Duration,
    last_wall: Timestamp,
    last_write_at: Duration,
}

impl Entry {
    /// The Event with its current series, for a CREATE when a PATCH found it gone.
    pub(crate) fn full_event(&self) -> EventsEvent {
        let mut e = self.event.clone();
        if self.count >= 2 {
            e.series = Some(EventSeries {
                count: self.count,
                last_observed_time: MicroTime(self.last_wall),
            });
        }
        e
    }

    /// The strategic merge patch of the series (what client-go's two-way patch yields).
    pub(crate) fn series_patch(&self) -> Value {
        json!({"series": {"count": self.count, "lastObservedTime": micro(self.last_wall)}})
    }

    pub(crate) fn namespace(&self) -> &str {
        self.event
            .metadata
            .namespace
            .as_deref()
            .unwrap_or("default")
    }

    pub(crate) fn name(&self) -> &str {
        self.event.metadata.name.as_deref().unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn count(&self) -> i32 {
        self.count
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }
}

fn micro(t: Timestamp) -> Value {
    serde_json::to_value(MicroTime(t)).unwrap_or(Value::Null)
}

/// What to send for one observation.
#[derive(Debug, Clone)]
pub(crate) enum SeriesWrite {
    /// A new Event.
    Create(Box<EventsEvent>),
    /// PATCH the series of this entry (CREATE it whole on 404).
    Patch(Box<Entry>),
}

/// Why an entry is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Idle series: final PATCH, then forget.
    Finish,
    /// Old singleton: forget, nothing to send.
    Forget,
    /// Live series: PATCH to keep the Event alive.
    Heartbeat,
}

/// The series cache of one recorder.
#[derive(Debug)]
pub(crate) struct SeriesCache {
    entries: LruCache<u64, Entry>,
    hasher: RandomState,
    finish: Duration,
    heartbeat: Duration,
}

impl SeriesCache {
    pub(crate) fn new(capacity: usize, finish: Duration, heartbeat: Duration) -> Self {
        Self {
            entries: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            hasher: RandomState::new(),
            finish,
            heartbeat,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn key(&self, e: &NewEvent) -> u64 {
        let o = |r: &ObjectRef| {
            (
                r.api_version.clone(),
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.uid.clone(),
                r.field_path.clone(),
            )
        };
        self.hasher.hash_one((
            e.r#type.as_str(),
            &e.action,
            &e.reason,
            o(&e.regarding),
            e.related.as_ref().map(o),
        ))
    }

    /// Observes `event` (note already sanitized) at monotonic `at`. Returns the write to
    /// send, and the final PATCH of an entry the LRU pushed out, if any.
    pub(crate) fn observe(
        &mut self,
        event: NewEvent,
        reporter: &Reporter,
        at: Duration,
        times: &mut Times,
    ) -> (Option<SeriesWrite>, Option<Entry>) {
        let key = self.key(&event);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.last_at = at;
            entry.last_wall = times.wall(at);
            if entry.count >= 2 {
                entry.count = entry.count.saturating_add(1);
                return (None, None);
            }
            entry.count = 2;
            return (Some(SeriesWrite::Patch(Box::new(entry.clone()))), None);
        }
        let wall = times.wall(at);
        let created = EventsEvent {
            metadata: ObjectMeta {
                name: Some(times.name(&event.regarding.name, at)),
                namespace: Some(namespace_of(&event.regarding)),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(wall)),
            reporting_controller: Some(reporter.controller.clone()),
            reporting_instance: Some(reporter.instance.clone()),
            action: Some(event.action),
            reason: Some(event.reason),
            regarding: Some(reference(&event.regarding)),
            related: event.related.as_ref().map(reference),
            note: Some(event.note),
            type_: Some(event.r#type.as_str().to_owned()),
            ..EventsEvent::default()
        };
        let entry = Entry {
            key,
            event: created.clone(),
            count: 0,
            written: 0,
            first_at: at,
            last_at: at,
            last_wall: wall,
            last_write_at: at,
        };
        let evicted = self
            .entries
            .push(key, entry)
            .filter(|(k, e)| *k != key && e.count >= 2 && e.count != e.written)
            .map(|(_, e)| e);
        (Some(SeriesWrite::Create(Box::new(created))), evicted)
    }

    /// Records that the API server has the entry's count as of `at` (a write succeeded).
    pub(crate) fn written(&mut self, entry: &Entry, at: Duration) {
        let count = entry.count;
        if let Some(e) = self.entries.peek_mut(&entry.key) {
            e.written = e.written.max(count);
            e.last_write_at = at;
        }
    }

    /// Entries that need something at `now`, with a copy to write from.
    pub(crate) fn due(&self, now: Duration) -> Vec<(Due, Entry)> {
        self.entries
            .iter()
            .filter_map(|(_, e)| {
                let idle = now.saturating_sub(e.last_at) >= self.finish;
                let due = if e.count >= 2 && idle {
                    Due::Finish
                } else if e.count < 2 && now.saturating_sub(e.first_at) >= self.finish {
                    Due::Forget
                } else if e.count >= 2 && now.saturating_sub(e.last_write_at) >= self.heartbeat {
                    Due::Heartbeat
                } else {
                    return None;
                };
                Some((due, e.clone()))
            })
            .collect()
    }

    /// Forgets an entry (after its final PATCH).
    pub(crate) fn forget(&mut self, key: u64) {
        self.entries.pop(&key);
    }

    /// Every series with a count not yet written (for a flush on shutdown).
    pub(crate) fn unwritten(&self) -> Vec<Entry> {
        self.entries
            .iter()
            .filter(|(_, e)| e.count >= 2 && e.count != e.written)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter() -> Reporter {
        Reporter::new("kev.dev/test", "test-0").unwrap()
    }

    fn event(note: &str) -> NewEvent {
        let pod = ObjectRef {
            kind: "Pod".into(),
            namespace: "ns".into(),
            name: "web".into(),
            ..Default::default()
        };
        NewEvent::warning(&pod, "Failed", "Sync", note)
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn create_then_one_patch_then_memory_then_final_patch() {
        let mut c = SeriesCache::new(16, 6 * MIN, 30 * MIN);
        let mut t = Times::new(Timestamp::UNIX_EPOCH);
        let r = reporter();
        let (w, _) = c.observe(event("a"), &r, Duration::ZERO, &mut t);
        assert!(matches!(w, Some(SeriesWrite::Create(_))));
        // The note is not part of the key.
        let (w, _) = c.observe(event("b"), &r, Duration::from_secs(1), &mut t);
        let Some(SeriesWrite::Patch(entry)) = w else {
            panic!("{w:?}")
        };
        assert_eq!(entry.series_patch()["series"]["count"], 2);
        for i in 0..100 {
            let (w, _) = c.observe(event("c"), &r, Duration::from_secs(2 + i), &mut t);
            assert!(w.is_none());
        }
        assert!(c.due(Duration::from_secs(101) + 5 * MIN).is_empty());
        let due = c.due(Duration::from_secs(101) + 6 * MIN);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, Due::Finish);
        assert_eq!(due[0].1.count(), 102);
        assert_eq!(due[0].1.full_event().series.unwrap().count, 102);
    }

    #[test]
    fn heartbeat_every_30_minutes_of_a_live_series() {
        let mut c = SeriesCache::new(16, 6 * MIN, 30 * MIN);
        let mut t = Times::new(Timestamp::UNIX_EPOCH);
        let r = reporter();
        c.observe(event("a"), &r, Duration::ZERO, &mut t);
        let (w, _) = c.observe(event("a"), &r, Duration::ZERO, &mut t);
        let Some(SeriesWrite::Patch(e)) = w else {
            panic!()
        };
        c.written(&e, Duration::ZERO);
        let mut at = Duration::ZERO;
        while at < 30 * MIN {
            at += MIN;
            c.observe(event("a"), &r, at, &mut t);
        }
        let due = c.due(at);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, Due::Heartbeat);
    }

    #[test]
    fn singletons_are_forgotten_and_the_lru_pushes_out_with_a_final_patch() {
        let mut c = SeriesCache::new(1, 6 * MIN, 30 * MIN);
        let mut t = Times::new(Timestamp::UNIX_EPOCH);
        let r = reporter();
        c.observe(event("a"), &r, Duration::ZERO, &mut t);
        assert_eq!(c.due(6 * MIN)[0].0, Due::Forget);
        c.observe(event("a"), &r, Duration::ZERO, &mut t);
        let mut other = event("a");
        other.reason = "Other".into();
        let (w, evicted) = c.observe(other, &r, Duration::ZERO, &mut t);
        assert!(matches!(w, Some(SeriesWrite::Create(_))));
        assert_eq!(evicted.map(|e| e.count()), Some(2));
        assert_eq!(c.len(), 1);
    }
}
