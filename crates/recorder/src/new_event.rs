//! [`EventRecorder`]: the API a controller codes against, shared by [`Recorder`] and
//! [`FakeRecorder`]; [`NewEvent`] is what it records, [`Published`] what became of it.
//!
//! [`Recorder`]: super::Recorder
//! [`FakeRecorder`]: super::FakeRecorder

use std::time::Duration;

use kev_core::{EventType, ObjectRef};

use super::transitions::Transitions;

/// An event a controller asks to record.
///
/// ```
/// use std::time::Duration;
/// use kev_recorder::{NewEvent, ObjectRef};
/// let pod = ObjectRef { kind: "Pod".into(), namespace: "default".into(), name: "web-0".into(), ..Default::default() };
/// let e = NewEvent::warning(&pod, "BackOff", "Reconcile", "image pull failed")
///     .quiet_for(Duration::from_secs(300));
/// assert_eq!(e.reason, "BackOff");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The object the event is about (`regarding` / `involvedObject`).
    pub regarding: ObjectRef,
    /// A second object involved (events.k8s.io/v1 `related`; not sent on core/v1).
    pub related: Option<ObjectRef>,
    /// `Normal` or `Warning`; anything else is dropped as invalid.
    pub r#type: EventType,
    /// Why: an UpperCamelCase constant of the controller (`MissingSecret`).
    pub reason: String,
    /// What the controller was doing or did (`Reconcile`, `Provision`).
    pub action: String,
    /// Human-readable detail; redacted and cut to 1024 bytes before sending.
    pub note: String,
    /// "First occurrence, then quiet": at most one event of this (object, reason) per
    /// this long. Overrides [`RecorderConfig::quiet_cooldown`](super::RecorderConfig::quiet_cooldown).
    pub quiet_for: Option<Duration>,
}

impl NewEvent {
    /// An event of any type.
    pub fn new(
        regarding: &ObjectRef,
        r#type: EventType,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) -> Self {
        Self {
            regarding: regarding.clone(),
            related: None,
            r#type,
            reason: reason.to_owned(),
            action: action.to_owned(),
            note: note.into(),
            quiet_for: None,
        }
    }

    /// A `Warning`.
    pub fn warning(
        regarding: &ObjectRef,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) -> Self {
        Self::new(regarding, EventType::Warning, reason, action, note)
    }

    /// A `Normal` event.
    pub fn normal(
        regarding: &ObjectRef,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) -> Self {
        Self::new(regarding, EventType::Normal, reason, action, note)
    }

    /// Sets the related object.
    #[must_use]
    pub fn related(mut self, related: &ObjectRef) -> Self {
        self.related = Some(related.clone());
        self
    }

    /// Emits the first occurrence of this (object, reason), then at most one per `cooldown`.
    #[must_use]
    pub fn quiet_for(mut self, cooldown: Duration) -> Self {
        self.quiet_for = Some(cooldown);
        self
    }
}

/// Why an event was not sent. Each is a value of `kev_recorder_dropped_total{why}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The recorder is switched off (`KEV_RECORDER_ENABLED=false`).
    Disabled,
    /// The event cannot be made valid (type, empty or too long reason/action, no object).
    Invalid,
    /// Inside the (object, reason) cooldown of "first occurrence, then quiet".
    Quiet,
    /// Over the spam filter's budget for (source, object, type).
    Spam,
    /// The queue to the writer task is full: the API server is slow or down.
    QueueFull,
    /// The writer task has stopped (its runtime shut down).
    Closed,
    /// The API server refused the event for good (an error Status other than 404 and
    /// 429, or AlreadyExists for a new event).
    Rejected,
    /// Still 429 Too Many Requests after the client's own retries (kube's default
    /// client retries 429/503/504, honouring `Retry-After`, as client-go's REST client).
    Throttled,
    /// Every try failed without an answer (connection refused or reset, timeout).
    RetriesExhausted,
}

impl DropReason {
    /// The `why` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Invalid => "invalid",
            Self::Quiet => "quiet",
            Self::Spam => "spam",
            Self::QueueFull => "queue_full",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Throttled => "throttled",
            Self::RetriesExhausted => "retries_exhausted",
        }
    }

    pub(crate) const ALL: [Self; 9] = [
        Self::Disabled,
        Self::Invalid,
        Self::Quiet,
        Self::Spam,
        Self::QueueFull,
        Self::Closed,
        Self::Rejected,
        Self::RetriesExhausted,
        Self::Throttled,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What [`EventRecorder::record`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Published {
    /// Accepted: queued for the API server (or captured, for the fake recorder).
    Accepted,
    /// [`EventRecorder::on_transition`] saw the same state as last time: nothing to say.
    Unchanged,
    /// Not sent, and counted.
    Dropped(DropReason),
}

impl Published {
    /// True for [`Published::Accepted`].
    pub fn is_accepted(self) -> bool {
        self == Self::Accepted
    }
}

/// Recording events: implemented by [`Recorder`](super::Recorder) (the API server) and
/// [`FakeRecorder`](super::FakeRecorder) (memory, for tests). Write reconcilers against
/// `&dyn EventRecorder` or a generic `R: EventRecorder`.
pub trait EventRecorder: Send + Sync + std::fmt::Debug {
    /// Records `event`; never blocks on the API server.
    fn record(&self, event: NewEvent) -> Published;

    /// The last state seen per (object, key), for [`on_transition`](Self::on_transition).
    fn transitions(&self) -> &Transitions;

    /// `publish(object, type, reason, note, action)`.
    fn publish(
        &self,
        regarding: &ObjectRef,
        r#type: EventType,
        reason: &str,
        note: &str,
        action: &str,
    ) -> Published {
        self.record(NewEvent::new(regarding, r#type, reason, action, note))
    }

    /// A `Warning` about `regarding`.
    fn warn(&self, regarding: &ObjectRef, reason: &str, action: &str, note: &str) -> Published {
        self.record(NewEvent::warning(regarding, reason, action, note))
    }

    /// A `Normal` event about `regarding`.
    fn normal(&self, regarding: &ObjectRef, reason: &str, action: &str, note: &str) -> Published {
        self.record(NewEvent::normal(regarding, reason, action, note))
    }

    /// Records `event` only when `new_state` differs from the last state seen for
    /// (`event.regarding`, `key`), so steady-state reconciles emit nothing. The first
    /// state seen counts as a change. States are remembered for the 4096 most recently
    /// seen (object, key) pairs; a forgotten pair emits again.
    ///
    /// ```
    /// use kev_recorder::{EventRecorder, FakeRecorder, NewEvent, ObjectRef, Published};
    /// let rec = FakeRecorder::new();
    /// let db = ObjectRef { kind: "Database".into(), namespace: "prod".into(), name: "orders".into(), ..Default::default() };
    /// let ready = || NewEvent::normal(&db, "Ready", "Reconcile", "database is ready");
    /// assert_eq!(rec.on_transition("phase", "Ready", ready()), Published::Accepted);
    /// assert_eq!(rec.on_transition("phase", "Ready", ready()), Published::Unchanged);
    /// assert_eq!(rec.count("Ready"), 1);
    /// ```
    fn on_transition(&self, key: &str, new_state: &str, event: NewEvent) -> Published {
        if !self.transitions().changed(&event.regarding, key, new_state) {
            return Published::Unchanged;
        }
        self.record(event)
    }
}
