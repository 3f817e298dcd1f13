//! The replay worker: a plain thread that detects the format, frames and parses items
//! and sends them to the async side, so a blocking read of stdin never holds a runtime
//! thread. Items travel in batches (one wake-up per batch, not per event); a batch is
//! sent when it is full and before every read, so nothing waits while input is slow.

use std::cell::RefCell;
use std::io::{BufReader, Cursor, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::detect::{Format, detect};
use super::framer::{Frame, FrameError, Framer, KEY_ITEMS};
use super::item::{Parsed, parse_json, parse_yaml};
use super::yaml::{Documents, item_lines};
use crate::metrics as m;
use crate::source::{SourceError, SourceItem};
use crate::store::Checkpoint;

/// How many problems [`ReplayStats::issues`] keeps (all are counted).
const MAX_ISSUES: usize = 1000;

/// One problem in the input, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayIssue {
    /// `file.json: line 12`.
    pub location: String,
    /// The `reason` label of `kev_source_errors_total`.
    pub reason: &'static str,
    pub detail: String,
}

/// What a replay has read so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Items consumed, including those skipped for a checkpoint (the checkpoint position).
    pub items: u64,
    /// Events handed to the pipeline.
    pub events: u64,
    /// Watch records that carry no occurrence (`DELETED`, `BOOKMARK`).
    pub skipped: u64,
    /// Problems counted in `kev_source_errors_total`.
    pub errors: u64,
    /// The first problems, in input order.
    pub issues: Vec<ReplayIssue>,
    /// What the input looked like (`JSON, one value per line`, `YAML`, …), once known.
    pub format: Option<&'static str>,
}

/// A handle on a replay's [`ReplayStats`] that stays valid after the source is moved
/// into a pipeline.
#[derive(Debug, Clone, Default)]
pub struct ReplayProgress(pub(crate) Arc<Stats>);

impl ReplayProgress {
    /// What was read so far.
    pub fn snapshot(&self) -> ReplayStats {
        self.0.snapshot()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    items: AtomicU64,
    events: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
    issues: Mutex<Vec<ReplayIssue>>,
    format: std::sync::OnceLock<&'static str>,
}

impl Stats {
    pub fn snapshot(&self) -> ReplayStats {
        ReplayStats {
            items: self.items.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            issues: self.issues.lock().map(|v| v.clone()).unwrap_or_default(),
            format: self.format.get().copied(),
        }
    }
}

/// The receiver is gone: the pipeline stopped reading.
struct Closed;

/// Items sent together.
pub(crate) type Batch = Vec<Result<SourceItem, SourceError>>;
pub(crate) type Sender = mpsc::Sender<Batch>;

/// Items per batch at most.
const BATCH_ITEMS: usize = 256;

/// The batch being filled, shared by the emitter and the reader that flushes it.
struct Outbox {
    tx: Sender,
    batch: RefCell<Batch>,
}

impl Outbox {
    fn push(&self, item: Result<SourceItem, SourceError>) -> Result<(), Closed> {
        let full = {
            let mut batch = self.batch.borrow_mut();
            batch.push(item);
            batch.len() >= BATCH_ITEMS
        };
        if full { self.flush() } else { Ok(()) }
    }

    fn flush(&self) -> Result<(), Closed> {
        let batch = std::mem::take(&mut *self.batch.borrow_mut());
        if batch.is_empty() {
            return Ok(());
        }
        self.tx.blocking_send(batch).map_err(|_| Closed)
    }
}

/// Sends what is parsed before each read, which may block (stdin).
struct FlushBeforeRead<R> {
    inner: R,
    outbox: Rc<Outbox>,
}

impl<R: Read> Read for FlushBeforeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.outbox.flush().map_err(|Closed| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the pipeline stopped reading",
            )
        })?;
        self.inner.read(buf)
    }
}

/// Numbers items, skips those before the checkpoint, sends the rest, counts problems.
pub(crate) struct Emitter {
    pub name: String,
    pub id: String,
    pub skip: u64,
    pub stats: Arc<Stats>,
    outbox: Rc<Outbox>,
    position: u64,
    last_checkpoint: u64,
}

impl Emitter {
    pub fn new(name: String, id: String, skip: u64, tx: Sender, stats: Arc<Stats>) -> Self {
        Self {
            name,
            id,
            skip,
            stats,
            outbox: Rc::new(Outbox {
                tx,
                batch: RefCell::new(Vec::with_capacity(BATCH_ITEMS)),
            }),
            position: 0,
            last_checkpoint: skip,
        }
    }

    /// `name: line N`, built without the formatting machinery: one per replayed item.
    fn location(&self, line: usize) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(line);
        let mut s = String::with_capacity(self.name.len() + 7 + digits.len());
        s.push_str(&self.name);
        s.push_str(": line ");
        s.push_str(digits);
        s
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            source: self.id.clone(),
            position: itoa::Buffer::new().format(self.position).to_owned(),
        }
    }

    /// Counts one item; false when the checkpoint says it was read before.
    fn advance(&mut self) -> bool {
        self.position += 1;
        self.stats.items.store(self.position, Ordering::Relaxed);
        self.position > self.skip
    }

    fn send(&self, item: Result<SourceItem, SourceError>) -> Result<(), Closed> {
        self.outbox.push(item)
    }

    fn error(&self, line: usize, reason: &'static str, detail: String) {
        metrics::counter!(m::SOURCE_ERRORS_TOTAL, "source" => "replay", "reason" => reason)
            .increment(1);
        let location = self.location(line);
        tracing::warn!(%location, reason, %detail, "replay: bad input");
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut issues) = self.stats.issues.lock()
            && issues.len() < MAX_ISSUES
        {
            issues.push(ReplayIssue {
                location,
                reason,
                detail,
            });
        }
    }

    /// The item's bytes as UTF-8; invalid sequences become U+FFFD and are counted.
    fn utf8(&self, line: usize, bytes: Vec<u8>) -> String {
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let bad_line = line + memchr::memchr_iter(b'\n', &bytes[..at]).count();
                self.error(
                    bad_line,
                    "invalid_utf8",
                    "invalid UTF-8, replaced with U+FFFD".into(),
                );
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    }

    fn handle(&mut self, line: usize, parsed: Parsed) -> Result<(), Closed> {
        match parsed {
            Parsed::Event(raw) => {
                self.last_checkpoint = self.position;
                self.stats.events.fetch_add(1, Ordering::Relaxed);
                self.send(Ok(SourceItem::Event {
                    raw,
                    location: self.location(line),
                    checkpoint: Some(self.checkpoint()),
                }))
            }
            Parsed::Skipped => {
                self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Parsed::Error { reason, detail } => {
                self.error(line, reason, detail);
                Ok(())
            }
        }
    }

    /// At the end of the input: moves the checkpoint past trailing skipped items.
    fn finish(&mut self) -> Result<(), Closed> {
        if self.position > self.last_checkpoint {
            self.last_checkpoint = self.position;
            self.send(Ok(SourceItem::Progress(self.checkpoint())))?;
        }
        Ok(())
    }

    fn fatal(&self, error: SourceError) -> Result<(), Closed> {
        tracing::error!(source = %self.id, %error, "replay stopped");
        self.send(Err(error))
    }
}

/// Runs the whole replay of `input`; returns when it ended or nobody listens.
pub(crate) fn run(input: Box<dyn Read + Send>, mut out: Emitter) {
    let mut input = FlushBeforeRead {
        inner: input,
        outbox: Rc::clone(&out.outbox),
    };
    if replay(&mut input, &mut out).is_ok() {
        let _ = out.outbox.flush();
    }
}

fn replay<R: Read>(input: &mut R, out: &mut Emitter) -> Result<(), Closed> {
    let (format, prefix) = match detect(input) {
        Ok(found) => found,
        Err(e) => {
            return out.fatal(SourceError::Read {
                location: out.name.clone(),
                source: e,
            });
        }
    };
    let _ = out.stats.format.set(format.describe());
    let reader = Cursor::new(prefix).chain(input);
    let completed = match format {
        Format::Empty => Ok(true),
        Format::JsonLines => json(&mut Framer::new(reader, true, 1), out, false),
        Format::JsonStream => json(&mut Framer::new(reader, false, 1), out, false),
        Format::Yaml => yaml(&mut Documents::new(BufReader::new(reader)), out),
    }?;
    if completed {
        out.finish()?;
    }
    Ok(())
}

/// Replays JSON items; `Ok(false)` when a fatal error ended the input.
fn json<R: Read>(framer: &mut Framer<R>, out: &mut Emitter, nested: bool) -> Result<bool, Closed> {
    loop {
        match framer.next_frame() {
            Ok(None) => return Ok(true),
            Ok(Some(Frame::Broken { line, detail })) => {
                if out.advance() {
                    out.error(line, "malformed_json", detail);
                }
            }
            Ok(Some(Frame::Item(item))) => {
                if item.is_object && item.keys & KEY_ITEMS != 0 && !nested {
                    // A List inside an array or on one line: its items, one by one.
                    let mut inner = Framer::new(&item.bytes[..], false, item.line);
                    json(&mut inner, out, true)?;
                    continue;
                }
                if !out.advance() {
                    continue;
                }
                let text = out.utf8(item.line, item.bytes);
                out.handle(item.line, parse_json(&text, item.keys, item.is_object))?;
            }
            Err(FrameError::Io(e)) => {
                out.fatal(SourceError::Read {
                    location: out.name.clone(),
                    source: e,
                })?;
                return Ok(false);
            }
            Err(FrameError::Syntax { line, detail }) => {
                out.error(line, "malformed_json", detail.clone());
                if nested {
                    return Ok(true);
                }
                out.fatal(SourceError::Read {
                    location: out.location(line),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, detail),
                })?;
                return Ok(false);
            }
        }
    }
}

/// Replays YAML documents: each a List, a watch record, or one Event.
fn yaml<R: std::io::BufRead>(docs: &mut Documents<R>, out: &mut Emitter) -> Result<bool, Closed> {
    use serde_norway::Value;
    loop {
        let doc = match docs.next_document() {
            Ok(Some(doc)) => doc,
            Ok(None) => return Ok(true),
            Err(e) => {
                out.fatal(SourceError::Read {
                    location: out.name.clone(),
                    source: e,
                })?;
                return Ok(false);
            }
        };
        let text = out.utf8(doc.first_line, doc.bytes.clone());
        let mut value: Value = match serde_norway::from_str(&text) {
            Ok(value) => value,
            Err(e) => {
                let line = e.location().map_or(doc.content_line, |l| {
                    doc.first_line + l.line().saturating_sub(1)
                });
                if out.advance() {
                    out.error(line, "malformed_yaml", e.to_string());
                }
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        let items = match &mut value {
            Value::Mapping(map) if map.get("items").is_some_and(Value::is_sequence) => {
                map.remove("items")
            }
            _ => None,
        };
        let Some(Value::Sequence(items)) = items else {
            if out.advance() {
                out.handle(doc.content_line, parse_yaml(value))?;
            }
            continue;
        };
        let lines = item_lines(&doc);
        let exact = lines.len() == items.len();
        for (k, item) in items.into_iter().enumerate() {
            let line = if exact { lines[k] } else { doc.content_line };
            if out.advance() {
                out.handle(line, parse_yaml(item))?;
            }
        }
    }
}
