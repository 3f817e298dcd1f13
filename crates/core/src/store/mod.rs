//! The [`Store`] trait: kev's durable log of events, with checkpoints, route cursors,
//! queries, retention, dead letters and small durable state.
//!
//! A batch of events and the source checkpoint are written in one atomic call
//! ([`Store::append`]), so a restart resumes exactly after the last committed batch.

pub mod codec;
pub mod dead_letters;
mod handle;
pub mod index;
mod memory;
pub mod query;
pub mod remembered;
pub mod retention;
pub mod segments;
mod suffix;
pub mod summary;
pub mod telemetry;

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::Event;

pub use handle::{AsyncStore, StoreTask};
pub use memory::MemoryStore;
pub use query::{Order, Query};

/// The store operation an error happened in, named in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOp {
    /// Opening (or creating) the store.
    Open,
    /// [`Store::append`]: events and a checkpoint.
    Append,
    /// Any read: the log, a query, a checkpoint, cursors, stats, dead letters, state.
    Read,
    /// [`Store::commit_cursor`].
    Commit,
    /// [`Store::compact`].
    Compact,
    /// [`Store::dead_letter`] and [`Store::put_state`].
    Write,
}

impl std::fmt::Display for StoreOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::Append => "append",
            Self::Read => "read",
            Self::Commit => "cursor commit",
            Self::Compact => "compaction",
            Self::Write => "write",
        })
    }
}

/// The underlying error of a backend, kept as the [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of a [`Store`], named after what went wrong; the runtime ones say in which
/// [`StoreOp`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database was written by a newer (or unknown) version of kev's format (found
    /// on open).
    #[error(
        "store at {path}: on-disk format version {found} is not supported (this kev reads version {supported}); nothing was changed"
    )]
    UnsupportedFormat {
        path: String,
        found: String,
        supported: u32,
    },
    /// The file is damaged; it is left as it is.
    #[error("store at {path} is corrupt: {detail}; nothing was changed")]
    Corrupt { path: String, detail: String },
    /// Another process holds the database open (found on open).
    #[error("store at {path} is locked by another process (is another `kev run` using it?)")]
    Locked { path: String },
    #[error("store I/O error at {path} during {op}: {source}")]
    Io {
        op: StoreOp,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A stored record could not be decoded.
    #[error("store record {key} could not be decoded: {source}")]
    Decode {
        key: String,
        #[source]
        source: BoxError,
    },
    /// A record could not be encoded for writing.
    #[error("store {op}: {what} could not be encoded: {source}")]
    Encode {
        op: StoreOp,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A write on a store opened read-only.
    #[error("store at {path} is open read-only; a {op} is refused")]
    ReadOnly { op: StoreOp, path: String },
    /// A thread panicked while it held the store's lock.
    #[error("{backend} store lock poisoned during {op}")]
    Poisoned { op: StoreOp, backend: &'static str },
    /// Any other failure of the backend's database.
    #[error("{backend} store at {path}: {op} failed: {source}")]
    Backend {
        op: StoreOp,
        backend: &'static str,
        path: String,
        #[source]
        source: BoxError,
    },
    /// The blocking task that ran the operation panicked or was cancelled
    /// ([`AsyncStore`]).
    #[error("store {op} task failed: {source}")]
    Task {
        op: StoreOp,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl StoreError {
    /// Errors that are the user's to fix (wrong file, newer format, locked), which the
    /// binary maps to exit code 2, as opposed to runtime failures.
    pub fn is_usage_error(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedFormat { .. } | Self::Corrupt { .. } | Self::Locked { .. }
        )
    }

    /// The operation that failed, when the error names one (the open-time errors are
    /// [`StoreOp::Open`] or about the file itself and name none).
    pub fn op(&self) -> Option<StoreOp> {
        match self {
            Self::Io { op, .. }
            | Self::Encode { op, .. }
            | Self::ReadOnly { op, .. }
            | Self::Poisoned { op, .. }
            | Self::Backend { op, .. }
            | Self::Task { op, .. } => Some(*op),
            Self::UnsupportedFormat { .. } | Self::Locked { .. } => Some(StoreOp::Open),
            Self::Corrupt { .. } | Self::Decode { .. } => None,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where a source stands: the position to resume from after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The source's id ([`crate::EventSource::id`]).
    pub source: String,
    /// Opaque to the store: a resourceVersion, a replay offset, a consumer sequence…
    pub position: String,
}

/// An event in the log with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Monotonic, never reused, starting at 1.
    pub seq: u64,
    pub event: Event,
}

/// What one [`Store::append`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    pub stored: usize,
    /// Events skipped because their (uid, resourceVersion) was already stored, or
    /// repeated within the batch.
    pub duplicates: usize,
    /// The last sequence number in the log after this append (0: empty log).
    pub last_seq: u64,
}

/// How much history to keep. `None` means no limit of that kind.
///
/// The soft limits (`max_age`, `max_events`, `max_bytes`) never remove an event that a
/// route has not delivered yet; the hard caps do, and count what they evicted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_events: Option<u64>,
    pub max_bytes: Option<u64>,
    pub hard_max_events: Option<u64>,
    pub hard_max_bytes: Option<u64>,
    /// How long the idempotency key of a removed event is kept, so that a copy sent
    /// again (a relist of events the API server still holds) is a duplicate rather than
    /// stored and delivered a second time. `None`: forgotten with the event. At most
    /// [`remembered::MAX_REMEMBERED`] keys are kept; beyond that the oldest go first.
    pub remember_removed: Option<Duration>,
}

/// What one [`Store::compact`] step removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactOutcome {
    pub removed: u64,
    /// Of `removed`, those some route had not delivered (only under a hard cap).
    pub evicted_undelivered: u64,
    /// Keys of earlier removed events forgotten in this step
    /// ([`Retention::remember_removed`]).
    pub forgotten: u64,
    /// True when the step stopped at its bound and more is left to remove or forget.
    pub more: bool,
}

/// Size of the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub events: u64,
    /// Bytes of the encoded events (not of the file).
    pub bytes: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// A delivery that failed for good, kept for `kev query --dead-letter` until
/// `kev dead-letter retry` delivers it or `kev dead-letter drop` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The store's number for it, assigned by [`Store::dead_letter`] (which ignores the
    /// value given) in insertion order; letters written before kev had it read as their
    /// store key.
    #[serde(default)]
    pub id: u64,
    pub route: String,
    pub sink: String,
    pub seq: u64,
    pub error: String,
    pub at: Timestamp,
    pub event: Event,
}

/// kev's durable log. Implementations: [`MemoryStore`] here, redb and sled in their crates.
///
/// All methods are synchronous: the embedded databases are. Async code calls them
/// through [`AsyncStore`], which runs them on the blocking pool. Every implementation must pass `kev_core::testkit::store`.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Appends the events not stored yet (dedup by idempotency key, also within `batch`)
    /// and sets `checkpoint`, atomically: after a crash either both are there or neither.
    fn append(&self, batch: &[Event], checkpoint: Option<&Checkpoint>) -> Result<AppendOutcome>;

    /// [`Store::append`] taking the batch by value, which the pipeline no longer needs:
    /// a store that keeps events as they are ([`MemoryStore`]) moves them instead of
    /// cloning. The default appends by reference.
    fn append_owned(
        &self,
        batch: Vec<Event>,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<AppendOutcome> {
        self.append(&batch, checkpoint)
    }

    /// The checkpoint last written for `source`.
    fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>>;

    /// Up to `limit` events with `seq >= from`, in sequence order.
    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The last sequence number assigned (0 when nothing was ever stored).
    fn last_seq(&self) -> Result<u64>;

    /// The last sequence number `route` has fully handled (0: nothing yet).
    fn cursor(&self, route: &str) -> Result<u64>;

    /// Persists `route`'s cursor; called only after its sinks acknowledged up to `seq`.
    fn commit_cursor(&self, route: &str, seq: u64) -> Result<()>;

    /// Routes that have a cursor, with it.
    fn cursors(&self) -> Result<Vec<(String, u64)>>;

    /// Events matching `query`.
    fn query(&self, query: &Query) -> Result<Vec<StoredEvent>>;

    /// The results of [`Store::query`], in the same order, handed to `visit` one at a
    /// time until it returns `false`: a caller that only aggregates (`kev stats`) need not
    /// hold them all. A store that can read results one by one overrides it; the default
    /// runs `query`.
    fn query_each(&self, query: &Query, visit: &mut dyn FnMut(StoredEvent) -> bool) -> Result<()> {
        for event in self.query(query)? {
            if !visit(event) {
                break;
            }
        }
        Ok(())
    }

    /// One bounded retention step: removes at most `max_remove` events.
    fn compact(
        &self,
        retention: &Retention,
        now: Timestamp,
        max_remove: u64,
    ) -> Result<CompactOutcome>;

    fn stats(&self) -> Result<StoreStats>;

    /// Records a delivery that failed for good.
    fn dead_letter(&self, letter: &DeadLetter) -> Result<()>;

    /// Dead letters, oldest first, of one route or all.
    fn dead_letters(&self, route: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Removes the dead letters with these ids in one atomic write and returns them
    /// (ids no longer held are skipped).
    fn remove_dead_letters(&self, ids: &[u64]) -> Result<Vec<DeadLetter>>;

    /// Replaces the error and time of the held dead letter `letter.id` (a retry that
    /// failed again); false when it is no longer held.
    fn update_dead_letter(&self, letter: &DeadLetter) -> Result<bool>;

    /// Small durable state (cooldowns, remediation records), by namespace and key.
    fn get_state(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>>;

    fn put_state(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()>;
}
