//! The [`EventSource`] trait and the sources that live in core (file/stdin replay).

pub mod replay;

use async_trait::async_trait;

use crate::event::Event;
use crate::normalize::KubeEvent;
use crate::store::Checkpoint;

/// A raw event as a source produces it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawEvent {
    /// A core/v1 or events.k8s.io/v1 Event; the normalizer turns it into an [`Event`].
    Kube(Box<KubeEvent>),
    /// An event already in kev's model (kev's own JSON output replayed, a NATS message).
    Normalized(Box<Event>),
}

/// One item from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    /// An event, and the checkpoint that is valid once it and everything before it is stored.
    Event {
        raw: RawEvent,
        /// Where it came from, for error messages (`file.json: line 12`, `watch core/v1`).
        location: String,
        checkpoint: Option<Checkpoint>,
    },
    /// No event, but the position moved (a watch bookmark).
    Progress(Checkpoint),
}

/// Errors that end a source: the pipeline stops with them. Transient failures
/// (a dropped watch, a bad line) are the source's to retry or skip and count.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {location}: {source}")]
    Read {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("checkpoint {position:?} of source {source_id} is not valid: {detail}")]
    BadCheckpoint {
        source_id: String,
        position: String,
        detail: String,
    },
    #[error("{0}")]
    Other(String),
}

/// Produces raw events with a resumable checkpoint, and reconnects by itself.
#[async_trait]
pub trait EventSource: Send + std::fmt::Debug {
    /// Stable id under which the store keeps this source's checkpoint.
    fn id(&self) -> &str;

    /// What kind of source this is, for the `source` metric label: `replay`, `kube`, `nats`.
    fn kind(&self) -> &'static str;

    /// Called once before [`EventSource::next`], with the checkpoint stored for [`EventSource::id`].
    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError>;

    /// The next item; `None` when the input ended (a file) — a watch never ends by itself.
    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>>;

    /// A function the pipeline calls with a checkpoint once the batch it ends is committed
    /// to the store; asked once, before [`EventSource::start`]. A source that must
    /// acknowledge upstream only after the commit (a NATS consumer) returns one; the
    /// default is `None`.
    fn commit_hook(&self) -> Option<CommitHook> {
        None
    }
}

/// Told each checkpoint committed to the store, in order ([`EventSource::commit_hook`]).
pub type CommitHook = Box<dyn Fn(&Checkpoint) + Send + Sync>;
