//! The watch stream: pre-rendered event lines written in batches, bookmarks, timeouts,
//! 410 for compacted resourceVersions, and the fault plan's drops, expiries and closes
//! of unresponsive watchers.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Shared;
use super::convert::Group;
use super::faults::StreamAction;
use super::selectors::Selector;
use super::status;
use super::store::{Change, LogEntry, Rendered};

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub enum WatchStart {
    /// No resourceVersion or "0": the current objects as synthetic ADDED events first.
    Current,
    /// Events after this resourceVersion.
    After(u64),
}

/// One watch request, as parsed.
#[derive(Debug)]
pub struct WatchRequest {
    pub id: u64,
    pub group: Group,
    pub namespace: Option<String>,
    pub selector: Selector,
    pub start: WatchStart,
    pub timeout: Duration,
    pub bookmarks: bool,
}

pub type Chunk = Result<Bytes, std::io::Error>;

/// Events taken from the log per write.
const BATCH: usize = 256;

/// Writes the watch stream into `tx` until the timeout, a fault, or the client leaves.
pub async fn run(shared: Arc<Shared>, req: WatchRequest, tx: mpsc::Sender<Chunk>) {
    let mut changes = shared.notify.subscribe();
    let mut kill = shared.kill.subscribe();
    let deadline = Instant::now() + req.timeout;
    let bookmark_every = shared.config.bookmark_interval;
    let mut next_bookmark = Instant::now() + bookmark_every;

    let mut cursor = match req.start {
        WatchStart::After(rv) => {
            let horizon = shared.read().horizon();
            if rv < horizon {
                let line = error_line(&status::expired(rv, horizon));
                let _ = tx.send(Ok(line)).await;
                return;
            }
            rv
        }
        WatchStart::Current => {
            let (objects, rv) = {
                let store = shared.read();
                (store.live(), store.resource_version())
            };
            let mut buf = BytesMut::new();
            for o in objects.iter().filter(|o| visible(&req, o)) {
                push_line(&mut buf, Change::Added, req.group, o);
                shared.record(o);
            }
            if !buf.is_empty() && tx.send(Ok(buf.freeze())).await.is_err() {
                return;
            }
            rv
        }
    };

    loop {
        if shared.faults.stalled(req.id) {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => continue,
                () = tokio::time::sleep_until(deadline) => return,
                _ = kill.changed() => { let _ = tx.send(Err(abort())).await; return; }
                () = tx.closed() => return,
            }
        }
        let (matched, scanned_to) = {
            let store = shared.read();
            let entries = store.entries_after(cursor, BATCH);
            let scanned_to = entries.last().map(LogEntry::rv);
            let matched: Vec<LogEntry> = entries
                .iter()
                .filter(|e| match e {
                    LogEntry::Object { object, .. } => visible(&req, object),
                    LogEntry::Raw { group, .. } => *group == req.group,
                })
                .cloned()
                .collect();
            (matched, scanned_to)
        };
        let Some(scanned_to) = scanned_to else {
            let now = Instant::now();
            if req.bookmarks && now >= next_bookmark {
                next_bookmark = now + bookmark_every;
                let rv = {
                    let store = shared.read();
                    // Only when nothing is pending, so the bookmark never skips an event.
                    store
                        .entries_after(cursor, 1)
                        .is_empty()
                        .then(|| store.resource_version())
                };
                if let Some(rv) = rv {
                    cursor = rv;
                    if tx.send(Ok(bookmark_line(req.group, rv))).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            let wake = if req.bookmarks {
                next_bookmark.min(deadline)
            } else {
                deadline
            };
            tokio::select! {
                changed = changes.changed() => { if changed.is_err() { return; } }
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= deadline { return; }
                }
                _ = kill.changed() => { let _ = tx.send(Err(abort())).await; return; }
                () = tx.closed() => return,
            }
            continue;
        };
        let (allowed, action) = if matched.is_empty() {
            (0, None)
        } else {
            shared.faults.take(matched.len())
        };
        let mut buf = BytesMut::with_capacity(allowed * 800);
        for entry in &matched[..allowed] {
            match entry {
                LogEntry::Object { change, object } => {
                    push_line(&mut buf, *change, req.group, object);
                    if *change != Change::Deleted {
                        shared.record(object);
                    }
                }
                LogEntry::Raw { line, .. } => buf.extend_from_slice(line),
            }
        }
        cursor = match (allowed < matched.len(), allowed.checked_sub(1)) {
            (true, Some(last)) => matched[last].rv(),
            (true, None) => cursor,
            (false, _) => scanned_to,
        };
        if !buf.is_empty() && !send_or_close(&shared, &tx, buf.freeze()).await {
            return;
        }
        match action {
            None => {}
            Some(StreamAction::Drop) => {
                // Let the last chunk reach the socket before the connection is cut.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx.send(Err(abort())).await;
                return;
            }
            Some(StreamAction::Expire) => {
                let horizon = {
                    let mut store = shared.write();
                    store.compact();
                    store.horizon()
                };
                let _ = tx
                    .send(Ok(error_line(&status::expired(cursor, horizon))))
                    .await;
                return;
            }
        }
    }
}

/// Sends an event chunk; false when the client left, or was too slow to take it and
/// the fault plan closes unresponsive watchers.
async fn send_or_close(shared: &Shared, tx: &mpsc::Sender<Chunk>, chunk: Bytes) -> bool {
    let Some(limit) = shared.faults.unresponsive_after() else {
        return tx.send(Ok(chunk)).await.is_ok();
    };
    match tokio::time::timeout(limit, tx.send(Ok(chunk))).await {
        Ok(sent) => sent.is_ok(),
        Err(_) => {
            shared.faults.count_unresponsive_close();
            false
        }
    }
}

fn visible(req: &WatchRequest, object: &Rendered) -> bool {
    req.namespace
        .as_deref()
        .is_none_or(|ns| object.namespace == ns)
        && (req.selector.is_empty() || req.selector.matches(&object.core))
}

fn abort() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "fake API server cut the watch",
    )
}

/// `{"type":"ADDED","object":{…}}\n` from the pre-rendered object bytes.
pub fn push_line(buf: &mut BytesMut, change: Change, group: Group, object: &Rendered) {
    buf.extend_from_slice(b"{\"type\":\"");
    buf.extend_from_slice(change.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"object\":");
    buf.extend_from_slice(object.bytes(group));
    buf.extend_from_slice(b"}\n");
}

/// A watch ERROR event carrying `status`.
pub fn error_line(status: &serde_json::Value) -> Bytes {
    let mut line = serde_json::json!({"type": "ERROR", "object": status}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// A BOOKMARK: an empty object of the watched kind that carries only the
/// resourceVersion, serialized as the API server does (zero-valued Go fields included).
pub fn bookmark_line(group: Group, rv: u64) -> Bytes {
    let object = match group {
        Group::Core => serde_json::json!({
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null},
            "involvedObject": {}, "source": {}, "firstTimestamp": null, "lastTimestamp": null,
            "eventTime": null, "reportingComponent": "", "reportingInstance": ""
        }),
        Group::Events => serde_json::json!({
            "kind": "Event", "apiVersion": "events.k8s.io/v1",
            "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null},
            "eventTime": null, "regarding": {}, "deprecatedSource": {},
            "deprecatedFirstTimestamp": null, "deprecatedLastTimestamp": null
        }),
    };
    let mut line = serde_json::json!({"type": "BOOKMARK", "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}
