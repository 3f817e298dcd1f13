//! [`FakeRecorder`]: the recorder for a controller's unit tests, as client-go's
//! `FakeRecorder` is for Go operators: the same [`EventRecorder`] API and checks, no API
//! server, every accepted event kept in memory with helpers to assert on them.

use std::sync::{Mutex, MutexGuard};

use kev_core::{EventType, ObjectRef};

use super::handle::check;
use super::new_event::{EventRecorder, NewEvent, Published};
use super::sanitize::Sanitizer;
use super::stats::{Counters, RecorderStats};
use super::transitions::Transitions;

/// One event the fake recorder accepted, with its note as it would have been sent.
pub type RecordedEvent = NewEvent;

/// An in-memory [`EventRecorder`]. Reasons are checked (a panic in debug builds for a
/// reason that is not UpperCamelCase), invalid events dropped, notes redacted and cut
/// as the real recorder does. No spam filter, no aggregation, no quiet cooldowns: the
/// fake shows what the controller *asked* for.
///
/// ```
/// use kev_recorder::{EventRecorder, EventType, FakeRecorder, ObjectRef};
///
/// fn reconcile(rec: &dyn EventRecorder, db: &ObjectRef, secret_exists: bool) {
///     if !secret_exists {
///         rec.warn(db, "MissingSecret", "Reconcile", "secret \"db-creds\" not found");
///     }
/// }
///
/// let rec = FakeRecorder::new();
/// let db = ObjectRef { kind: "Database".into(), namespace: "prod".into(), name: "orders".into(), ..Default::default() };
/// reconcile(&rec, &db, false);
/// rec.assert_emitted(EventType::Warning, "MissingSecret", 1);
/// assert!(rec.notes("MissingSecret")[0].contains("db-creds"));
/// assert_eq!(rec.for_object(&db).len(), 1);
/// ```
#[derive(Debug)]
pub struct FakeRecorder {
    events: Mutex<Vec<RecordedEvent>>,
    transitions: Transitions,
    sanitizer: Sanitizer,
    counters: Counters,
}

impl Default for FakeRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRecorder {
    /// An empty fake with kev's default redaction patterns.
    pub fn new() -> Self {
        Self {
            events: Mutex::default(),
            transitions: Transitions::new(4096),
            // The built-in patterns always compile.
            sanitizer: Sanitizer::new(&[kev_core::normalize::DEFAULT_PATTERNS.to_owned()])
                .unwrap_or_else(|e| unreachable!("built-in redaction patterns: {e}")),
            counters: Counters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedEvent>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every accepted event, oldest first.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.lock().clone()
    }

    /// How many accepted events have `reason`.
    pub fn count(&self, reason: &str) -> usize {
        self.lock().iter().filter(|e| e.reason == reason).count()
    }

    /// The notes of the events with `reason`, oldest first.
    pub fn notes(&self, reason: &str) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|e| e.reason == reason)
            .map(|e| e.note.clone())
            .collect()
    }

    /// The events about `object` (same kind, namespace and name).
    pub fn for_object(&self, object: &ObjectRef) -> Vec<RecordedEvent> {
        self.lock()
            .iter()
            .filter(|e| {
                e.regarding.kind == object.kind
                    && e.regarding.namespace == object.namespace
                    && e.regarding.name == object.name
            })
            .cloned()
            .collect()
    }

    /// Forgets the events recorded so far (not the transition states).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Dropped events and bad reasons, as the real recorder counts them.
    pub fn stats(&self) -> RecorderStats {
        self.counters.snapshot()
    }

    /// Panics unless exactly `times` events of `type` and `reason` were recorded; the
    /// message lists what was.
    #[track_caller]
    pub fn assert_emitted(&self, r#type: EventType, reason: &str, times: usize) {
        let events = self.lock();
        let n = events
            .iter()
            .filter(|e| e.r#type == r#type && e.reason == reason)
            .count();
        assert!(
            n == times,
            "expected {times} {type} {reason} event(s), found {n}; recorded: {:?}",
            events
                .iter()
                .map(|e| format!("{} {}", e.r#type, e.reason))
                .collect::<Vec<_>>()
        );
    }

    /// Panics unless no event at all was recorded.
    #[track_caller]
    pub fn assert_none(&self) {
        let events = self.lock();
        assert!(
            events.is_empty(),
            "expected no events, found {:?}",
            events.iter().map(|e| &e.reason).collect::<Vec<_>>()
        );
    }
}

impl EventRecorder for FakeRecorder {
    fn record(&self, mut event: NewEvent) -> Published {
        if let Err(why) = check(&self.counters, &event) {
            self.counters.dropped(why);
            return Published::Dropped(why);
        }
        event.note = self.sanitizer.note(std::mem::take(&mut event.note));
        self.counters.accepted(
            super::handle::type_label(&event.r#type),
            event.reason.clone(),
        );
        self.lock().push(event);
        Published::Accepted
    }

    fn transitions(&self) -> &Transitions {
        &self.transitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DropReason;

    fn db() -> ObjectRef {
        ObjectRef {
            kind: "Database".into(),
            namespace: "prod".into(),
            name: "orders".into(),
            ..Default::default()
        }
    }

    #[test]
    fn captures_sanitized_events_and_drops_invalid_ones() {
        let rec = FakeRecorder::new();
        rec.warn(&db(), "AuthFailed", "Connect", "password=hunter2 rejected");
        assert_eq!(
            rec.notes("AuthFailed"),
            vec!["password=[REDACTED] rejected"]
        );
        assert_eq!(
            rec.warn(&db(), "AuthFailed", "", "x"),
            Published::Dropped(DropReason::Invalid)
        );
        assert_eq!(rec.stats().dropped(DropReason::Invalid), 1);
        rec.assert_emitted(EventType::Warning, "AuthFailed", 1);
        rec.clear();
        rec.assert_none();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not UpperCamelCase")]
    fn a_bad_reason_panics_in_debug_builds() {
        FakeRecorder::new().warn(&db(), "secret missing", "Reconcile", "x");
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn a_bad_reason_is_counted_in_release_builds() {
        let rec = FakeRecorder::new();
        assert!(
            rec.warn(&db(), "secret missing", "Reconcile", "x")
                .is_accepted()
        );
        assert_eq!(rec.stats().bad_reasons, 1);
    }
}
