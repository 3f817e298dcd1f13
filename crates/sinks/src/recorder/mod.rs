//! [`Recorder`]: Kubernetes Events for controllers — rate-limited, aggregated into
//! series, sanitized, and never blocking a reconcile. [`FakeRecorder`] is its twin for
//! a controller's unit tests; [`RecorderSink`] lets a pipeline route emit events.
//!
//! # How an event travels
//!
//! ```text
//! publish ─▶ validate ─▶ quiet? ─▶ spam filter ─▶ queue (1000) ─▶ writer task
//!  (caller's thread, a few µs, never awaits)        full: dropped     │
//!                                      discovery once: events.k8s.io/v1 or core/v1
//!                                      series cache / correlator ─▶ CREATE / PATCH
//! ```
//!
//! - **Validation** as the API server does it for events.k8s.io/v1: type `Normal` or
//!   `Warning`; `reason` and `action` required, at most 128 characters; the reporting
//!   controller a qualified name and the instance at most 128 characters (checked once,
//!   in [`Reporter::new`]); the note redacted with kev-core's [`Redactor`] and cut to
//!   1024 bytes on a UTF-8 boundary. An event that cannot be made valid is dropped and
//!   counted (`kev_recorder_dropped_total{why="invalid"}`), never sent to get a 422.
//! - **Reasons are UpperCamelCase constants** (`MissingSecret`, `InvalidSpec`). Anything
//!   else is a programming error: a panic at the call site in debug builds, counted in
//!   `kev_recorder_bad_reasons_total` (and sent) in release. That is also why `reason`
//!   may be a label of `kev_recorder_events_total`: a controller has a handful of them.
//! - **First occurrence, then quiet**: [`NewEvent::quiet_for`] (or
//!   [`RecorderConfig::quiet_cooldown`] for every event) emits the first event of an
//!   (object, reason) and then at most one per cooldown.
//! - **State changes only**: [`EventRecorder::on_transition`] emits only when the state
//!   of (object, key) differs from the last one seen.
//! - **Spam filter**, as client-go's `EventSourceObjectSpamFilter`: a token bucket per
//!   (source, involved object, type), burst 25, one token back every 300 s, 4096 keys
//!   remembered (least recently seen forgotten first); kev-core's
//!   [`TokenBucketLimiter`](kev_core::TokenBucketLimiter) does the counting.
//! - **Non-blocking**: [`EventRecorder::record`] puts the event on a bounded queue
//!   (client-go's 1000) and returns. A full queue drops the event
//!   (`why="queue_full"`). The writer task retries failed calls up to 12 times, 10 s
//!   apart with jitter, as client-go does.
//!
//! # events.k8s.io/v1 first, core/v1 as fallback
//!
//! The writer asks discovery once whether `events.k8s.io/v1` serves `events`
//! (client-go's `NewEventBroadcasterAdapter`). If it does, events follow
//! `tools/events`; otherwise `tools/record`:
//!
//! | | events.k8s.io/v1 (`tools/events`) | core/v1 (`tools/record`) |
//! |---|---|---|
//! | key | type, action, reason, controller, instance, regarding, related (not the note) | controller, regarding, type, reason **and message** |
//! | 1st | CREATE | CREATE, `count: 1` |
//! | 2nd | PATCH `series: {count: 2, lastObservedTime}` | PATCH `count`, `lastTimestamp`, `message` |
//! | later | memory only; PATCH every 30 min (heartbeat); idle 6 min: final PATCH, forgotten | PATCH each |
//! | similar notes | one series (the first note stays) | the 10th distinct message of a key within 600 s becomes one event "(combined from similar events): …" |
//! | PATCH → 404 (TTL expired) | CREATE (with the series) | CREATE (with the count) |
//! | CREATE → AlreadyExists | retried when it was a series (next try PATCHes), else given up | given up |
//! | 429 | retried by kube's client after `Retry-After` (as client-go's REST client), then dropped (`why="throttled"`), not retried again | same |
//! | other error Status | dropped (`why="rejected"`) | same |
//! | no answer | retried 12 times, 10 s apart (±25 %) | same |
//!
//! Field mapping on core/v1, as client-go's `EventRecorderAdapter`: `involvedObject` =
//! regarding, `message` = note, `source.component` and `reportingComponent` = the
//! reporting controller, `reportingInstance` = the instance, `firstTimestamp`,
//! `lastTimestamp` and `count`; `action` and `related` are not sent on core/v1.
//!
//! Event names are `<regarding name>.<nanoseconds, hex>`, in the regarding object's
//! namespace (`default` for cluster-scoped objects), as client-go names them.
//!
//! # RBAC
//!
//! The controller's service account needs `create` and `patch` on `events` in both
//! groups, and `get` on the discovery endpoints (allowed to every authenticated user by
//! the default `system:discovery` role):
//!
//! ```yaml
//! apiVersion: rbac.authorization.k8s.io/v1
//! kind: ClusterRole
//! metadata: {name: my-controller-events}
//! rules:
//!   - apiGroups: ["", "events.k8s.io"]
//!     resources: ["events"]
//!     verbs: ["create", "patch"]
//! ```
//!
//! # Example
//!
//! ```no_run
//! use kev_core::ObjectRef;
//! use kev_sinks::recorder::{EventRecorder, Recorder, RecorderConfig, Reporter};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = kube::Client::try_default().await?;
//! let reporter = Reporter::new("example.com/my-controller", "my-controller-0")?;
//! let recorder = Recorder::new(client, reporter, RecorderConfig::from_env()?)?;
//! let pod = ObjectRef { api_version: "v1".into(), kind: "Pod".into(),
//!     namespace: "default".into(), name: "web-0".into(), ..Default::default() };
//! recorder.warn(&pod, "MissingSecret", "Reconcile", "secret \"db\" not found");
//! # Ok(()) }
//! ```

mod api;
mod config;
mod fake;
mod gate;
mod handle;
mod legacy;
mod new_event;
mod objects;
mod sanitize;
mod series;
mod sink;
mod stats;
mod transitions;
mod validate;
mod writer;

pub use api::ApiGroup;
pub use config::RecorderConfig;
pub use fake::{FakeRecorder, RecordedEvent};
pub use handle::{Recorder, RecorderError, Reporter};
pub use new_event::{DropReason, EventRecorder, NewEvent, Published};
pub use sink::RecorderSink;
pub use stats::RecorderStats;
pub use validate::is_upper_camel_case;

#[doc(no_inline)]
pub use kev_core::normalize::Redactor;
#[doc(no_inline)]
pub use kev_core::{EventType, ObjectRef};
