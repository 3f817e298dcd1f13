//! [`Recorder`]: the handle controllers publish through; checks on the caller's thread,
//! then a bounded queue to the writer task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kev_core::config::ConfigError;
use kev_core::{Clock, EventType, SystemClock};
use tokio::sync::{mpsc, oneshot};

use super::api::{ApiGroup, EventsApi};
use super::config::RecorderConfig;
use super::gate::Gate;
use super::new_event::{DropReason, EventRecorder, NewEvent, Published};
use super::reporter::Reporter;
use super::sanitize::Sanitizer;
use super::shared::Shared;
use super::stats::{Counters, RecorderStats};
use super::transitions::Transitions;
use super::validate::{invalid_field, is_upper_camel_case};
use super::writer::{Command, Queued, Writer};

/// Why a recorder could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// A setting is out of range; names the field or variable.
    #[error("recorder config: {0}")]
    Config(#[from] ConfigError),
    /// The writer task needs a Tokio runtime.
    #[error("the recorder must be created inside a Tokio runtime: {0}")]
    NoRuntime(String),
}

#[derive(Debug)]
struct Inner {
    enabled: bool,
    gate: Mutex<Gate>,
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    transitions: Transitions,
    clock: Arc<dyn Clock>,
}

/// Records Events for a controller; cheap to clone, all clones share one queue, spam
/// filter and writer task. See the [crate docs](crate) for what happens to an event.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl Recorder {
    /// A recorder writing through `client`, with the real clock. Must be called inside
    /// a Tokio runtime (the writer task is spawned on it).
    pub fn new(
        client: kube::Client,
        reporter: Reporter,
        config: RecorderConfig,
    ) -> Result<Self, RecorderError> {
        Self::with_clock(client, reporter, config, Arc::new(SystemClock::default()))
    }

    /// As [`new`](Self::new), reading monotonic time from `clock`: the spam filter,
    /// cooldowns, series idling and heartbeats, and the events' timestamps (wall time
    /// at creation plus the clock's reading) all follow it. Tests pass a
    /// [`ManualClock`](kev_core::ManualClock) and call [`flush`](Self::flush).
    pub fn with_clock(
        client: kube::Client,
        reporter: Reporter,
        config: RecorderConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RecorderError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| RecorderError::NoRuntime(e.to_string()))?;
        let sanitizer = Sanitizer::new(&config.redact).map_err(|e| e.within("redact"))?;
        let gate = Gate::new(&config, Arc::clone(&clock))?;
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            group: OnceLock::new(),
            cached: AtomicUsize::new(0),
        });
        let (tx, rx) = mpsc::channel(config.queue_size);
        let writer = Writer::new(
            EventsApi::new(client, config.request_timeout),
            reporter,
            config.clone(),
            sanitizer,
            Arc::clone(&clock),
            Arc::clone(&shared),
        );
        runtime.spawn(writer.run(rx));
        Ok(Self {
            inner: Arc::new(Inner {
                enabled: config.enabled,
                gate: Mutex::new(gate),
                tx,
                shared,
                transitions: Transitions::new(config.cache_size),
                clock,
            }),
        })
    }

    /// Waits until every event queued before this call was handled (sent, or given up),
    /// then runs the writer's periodic pass (idle series' final PATCH, heartbeats) once.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Command::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Sends the final PATCH of every series whose count the API server does not have
    /// yet, then returns: call it on shutdown so no count is lost.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Command::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The API group found through discovery, once the first event was handled.
    pub fn api_group(&self) -> Option<ApiGroup> {
        self.inner.shared.group.get().copied()
    }

    /// The counters (also exported as `kev_recorder_*` metrics) and cache sizes.
    pub fn stats(&self) -> RecorderStats {
        let mut s = self.inner.shared.counters.snapshot();
        s.spam_keys = self.lock_gate().spam_keys();
        s.cached_series = self.inner.shared.cached.load(Ordering::Relaxed);
        s
    }

    fn lock_gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.inner
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The checks shared by [`Recorder`] and the fake: the reason's shape, then validity.
/// `Err` is counted by the caller.
pub(crate) fn check(counters: &Counters, event: &NewEvent) -> Result<(), DropReason> {
    if !is_upper_camel_case(&event.reason) {
        counters.bad_reason();
        debug_assert!(
            false,
            "event reason {:?} is not UpperCamelCase: reasons are constants such as \"MissingSecret\"",
            event.reason
        );
    }
    if let Some(problem) = invalid_field(event) {
        tracing::debug!(reason = %event.reason, problem, "recorder: invalid event dropped");
        return Err(DropReason::Invalid);
    }
    Ok(())
}

/// The `type` label: a static string for the two valid types.
pub(crate) fn type_label(t: &EventType) -> &'static str {
    match t {
        EventType::Warning => "Warning",
        _ => "Normal",
    }
}

impl EventRecorder for Recorder {
    fn record(&self, event: NewEvent) -> Published {
        let inner = &self.inner;
        let counters = &inner.shared.counters;
        let refuse = |why: DropReason| {
            counters.dropped(why);
            Published::Dropped(why)
        };
        if !inner.enabled {
            return refuse(DropReason::Disabled);
        }
        if let Err(why) = check(counters, &event) {
            return refuse(why);
        }
        if let Err(why) = self.lock_gate().admit(&event) {
            return refuse(why);
        }
        let ty = type_label(&event.r#type);
        let reason = event.reason.clone();
        let queued = Queued {
            event,
            at: inner.clock.now(),
        };
        match inner.tx.try_send(Command::Event(Box::new(queued))) {
            Ok(()) => {
                counters.accepted(ty, reason);
                Published::Accepted
            }
            Err(mpsc::error::TrySendError::Full(_)) => refuse(DropReason::QueueFull),
            Err(mpsc::error::TrySendError::Closed(_)) => refuse(DropReason::Closed),
        }
    }

    fn transitions(&self) -> &Transitions {
        &self.inner.transitions
    }
}
