//! [`ReplaySource`]: replays Events from a file or stdin, in whatever form a user has
//! at hand, with a resumable position.
//!
//! Formats, told apart by the first line (see `detect`):
//!
//! | input | produced by |
//! | --- | --- |
//! | one JSON List (`items`) | `kubectl get events -A -o json` |
//! | pretty JSON values one after another, each `{"type": …, "object": …}` | `kubectl get events -A -w -o json --output-watch-events` |
//! | pretty JSON Event objects one after another | `kubectl get events -A -w -o json` |
//! | a JSON array of Events | support bundles (sonobuoy) |
//! | JSON lines of Events | `jq -c '.items[]'`, log shippers |
//! | JSON lines of kev's own [`Event`](crate::Event) | `kev run` output |
//! | YAML List or multi-document stream (`---`, `#` comments) | `kubectl get events -o yaml`, watch recordings |
//!
//! Watch records of type `DELETED` (the API server expiring an Event after its TTL)
//! and `BOOKMARK` are skipped: they carry no new occurrence.
//!
//! **Checkpoint**: the position is the number of items consumed so far (an item is
//! one element of a List or array, one top-level value, one line, one YAML document),
//! counting items that were skipped or could not be parsed. `start(Some(cp))` skips
//! that many items, so a replay of the same input resumes after the last stored event.
//!
//! Bad input (a malformed line or document, an object that is not an Event, invalid
//! UTF-8) is counted in `kev_source_errors_total{source="replay",reason}` and logged
//! with its line; the replay goes on. Invalid UTF-8 is replaced with U+FFFD and the
//! event kept. A structural JSON error in a pretty-printed stream skips to the next
//! line that starts a value in column 0, or inside a List to the next item at the
//! broken item's indentation; when there is none the source ends with a
//! [`SourceError`] naming the file and line.
//!
//! ```no_run
//! # async fn run() -> Result<(), kev_core::SourceError> {
//! use kev_core::{EventSource, ReplaySource};
//! let mut source = ReplaySource::open("examples/events/cluster-events.json")?;
//! source.start(None).await?;
//! while let Some(item) = source.next().await {
//!     println!("{:?}", item?);
//! }
//! # Ok(()) }
//! ```

mod detect;
mod framer;
mod item;
mod worker;
mod yaml;

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use worker::{ReplayIssue, ReplayProgress, ReplayStats};

use crate::source::{EventSource, SourceError, SourceItem};
use crate::store::Checkpoint;

/// Batches parsed ahead of the pipeline (each up to 256 items).
const CHANNEL_CAPACITY: usize = 4;

/// Replays Events from a file or stdin; see the module docs for formats and checkpoints.
pub struct ReplaySource {
    id: String,
    name: String,
    input: Option<Box<dyn Read + Send>>,
    rx: Option<mpsc::Receiver<worker::Batch>>,
    /// The rest of the last batch received.
    pending: VecDeque<Result<SourceItem, SourceError>>,
    stats: Arc<worker::Stats>,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("id", &self.id)
            .field("started", &self.rx.is_some())
            .finish_non_exhaustive()
    }
}

impl ReplaySource {
    /// Opens `spec`: a file path, or `-` for stdin (read until it is closed).
    pub fn open(spec: &str) -> Result<Self, SourceError> {
        if spec == "-" {
            return Ok(Self::from_reader("stdin", std::io::stdin()).with_id("replay:-"));
        }
        let file = std::fs::File::open(spec).map_err(|source| SourceError::Open {
            path: spec.to_owned(),
            source,
        })?;
        Ok(Self::from_reader(spec, file))
    }

    /// Replays any reader; `name` appears in locations (`name: line 3`) and the id.
    ///
    /// ```
    /// # tokio_test_block(async {
    /// use kev_core::{EventSource, ReplaySource, SourceItem};
    /// let input = br#"{"kind":"Event","metadata":{"name":"a"},"involvedObject":{"kind":"Pod"}}"#;
    /// let mut source = ReplaySource::from_reader("inline", &input[..]);
    /// source.start(None).await.unwrap();
    /// let Some(Ok(SourceItem::Event { location, .. })) = source.next().await else { panic!() };
    /// assert_eq!(location, "inline: line 1");
    /// assert!(source.next().await.is_none());
    /// # });
    /// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn from_reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        let name = name.into();
        Self {
            id: format!("replay:{name}"),
            name,
            input: Some(Box::new(reader)),
            rx: None,
            pending: VecDeque::new(),
            stats: Arc::default(),
        }
    }

    /// Replaces the id under which the checkpoint is stored (default `replay:NAME`).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// What was read so far: items, events, skipped records, problems.
    pub fn stats(&self) -> ReplayStats {
        self.stats.snapshot()
    }

    /// A handle on [`stats`](Self::stats) to keep once the source is handed on.
    pub fn progress(&self) -> ReplayProgress {
        ReplayProgress(Arc::clone(&self.stats))
    }
}

#[async_trait]
impl EventSource for ReplaySource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "replay"
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        let skip = match checkpoint {
            None => 0,
            Some(cp) => cp
                .position
                .parse::<u64>()
                .map_err(|_| SourceError::BadCheckpoint {
                    source_id: self.id.clone(),
                    position: cp.position.clone(),
                    detail: "a replay position is the number of items already read".into(),
                })?,
        };
        let input = self
            .input
            .take()
            .ok_or_else(|| SourceError::Other(format!("{} was already started", self.id)))?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (name, id, stats) = (self.name.clone(), self.id.clone(), Arc::clone(&self.stats));
        // A plain thread, not spawn_blocking: a read of stdin may block forever and must
        // not keep the runtime from shutting down.
        std::thread::Builder::new()
            .name("kev-replay".into())
            .spawn(move || worker::run(input, worker::Emitter::new(name, id, skip, tx, stats)))
            .map_err(|e| SourceError::Other(format!("cannot start the replay thread: {e}")))?;
        self.rx = Some(rx);
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let Some(rx) = &mut self.rx else {
                return Some(Err(SourceError::Other(format!(
                    "{}: next() called before start()",
                    self.id
                ))));
            };
            // Cancel-safe: a batch is either still in the channel or in `pending`.
            self.pending.extend(rx.recv().await?);
        }
    }
}
