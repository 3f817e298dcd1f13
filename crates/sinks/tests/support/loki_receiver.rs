//! A Loki push endpoint on 127.0.0.1 (axum), faithful to Loki's documented push API:
//! `POST /loki/api/v1/push` with a snappy-compressed protobuf `PushRequest` or the JSON
//! form, streams per tenant (`X-Scope-OrgID`), label strings parsed and checked,
//! entries equal to a stored one dropped (Loki's dedup), entries older than the
//! configured limit or (with `ordered`) behind the stream's newest refused while the
//! valid ones are kept, and then a 400 with Loki's messages; 204 otherwise. A test can
//! also make it answer a status (429 with Retry-After, 503) or answer late.

// Test support: a panic here is a failed test, with its message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

// Loki's `pkg/push/push.proto`, written out here from Loki's source rather than taken
// from the sink, so that the receiver checks the sink's encoding independently.
#[derive(Clone, PartialEq, prost::Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}
#[derive(Clone, PartialEq, prost::Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}
#[derive(Clone, Copy, PartialEq, prost::Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub ns: i128,
    pub line: String,
    pub metadata: BTreeMap<String, String>,
}

/// What a request was answered, as the test wants it; `None`: Loki's own answer.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
}

type Behaviour = Box<dyn FnMut(usize) -> Option<Fault> + Send>;

#[derive(Default)]
struct Db {
    /// tenant → labels → entries.
    streams: BTreeMap<String, BTreeMap<BTreeMap<String, String>, Vec<Entry>>>,
    requests: Vec<(u16, HeaderMap)>,
    /// Entries refused with 400, with Loki's message.
    refused: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    db: Arc<Mutex<Db>>,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Entries older than this (ns since the epoch) are "too old".
    oldest_ns: Arc<Mutex<i128>>,
    ordered: bool,
    record: bool,
}

pub struct LokiReceiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LokiReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LokiReceiver {
    pub async fn start() -> Self {
        Self::start_with(false, true).await
    }

    /// Refuses an entry behind its stream's newest (Loki with `unordered_writes: false`).
    pub async fn start_ordered() -> Self {
        Self::start_with(true, true).await
    }

    pub async fn start_unrecorded() -> Self {
        Self::start_with(false, false).await
    }

    async fn start_with(ordered: bool, record: bool) -> Self {
        let shared = Shared {
            db: Arc::default(),
            behaviour: Arc::new(Mutex::new(Box::new(|_| None))),
            oldest_ns: Arc::new(Mutex::new(i128::MIN)),
            ordered,
            record,
        };
        let app = axum::Router::new()
            .route("/loki/api/v1/push", axum::routing::post(push))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `f(request number)` answers a fault instead of Loki's own answer.
    pub fn behave(&self, f: impl FnMut(usize) -> Option<Fault> + Send + 'static) {
        *self.shared.behaviour.lock().unwrap() = Box::new(f);
    }

    /// Entries with a timestamp before `ns` are refused as too old.
    pub fn reject_older_than(&self, ns: i128) {
        *self.shared.oldest_ns.lock().unwrap() = ns;
    }

    /// tenant ("" without a header) → stream labels → entries.
    pub fn streams(&self) -> BTreeMap<String, BTreeMap<BTreeMap<String, String>, Vec<Entry>>> {
        self.shared.db.lock().unwrap().streams.clone()
    }

    pub fn requests(&self) -> Vec<(u16, HeaderMap)> {
        self.shared.db.lock().unwrap().requests.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.shared.db.lock().unwrap().refused.clone()
    }
}

/// `{a="b", c="d"}` as Loki's parser reads it (a subset: no spaces inside names).
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let bad = || format!("parse error at line 1, col 1: syntax error in labels {text:?}");
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut map = BTreeMap::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad());
        }
        if chars.next() != Some('=') || chars.next() != Some('"') {
            return Err(bad());
        }
        let mut value = String::new();
        loop {
            match chars.next().ok_or_else(bad)? {
                '\\' => match chars.next().ok_or_else(bad)? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        map.insert(name, value);
    }
    if map.is_empty() {
        return Err("error at least one label pair is required per stream".into());
    }
    Ok(map)
}

/// The request's streams: (labels text, entries).
fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, Vec<Entry>)>, String> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("loghttp.PushRequest: {e}"))?;
        let mut out = Vec::new();
        for s in value["streams"].as_array().ok_or("no streams")? {
            let labels: Vec<String> = s["stream"]
                .as_object()
                .ok_or("no stream labels")?
                .iter()
                .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap()))
                .collect();
            let entries = s["values"]
                .as_array()
                .ok_or("no values")?
                .iter()
                .map(|v| Entry {
                    ns: v[0].as_str().unwrap().parse().unwrap(),
                    line: v[1].as_str().unwrap().to_owned(),
                    metadata: v[2]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect();
            out.push((format!("{{{}}}", labels.join(", ")), entries));
        }
        return Ok(out);
    }
    // Loki reads a protobuf body as snappy, whatever Content-Encoding says.
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    let request = PushRequest::decode(raw.as_slice()).map_err(|e| e.to_string())?;
    Ok(request
        .streams
        .into_iter()
        .map(|s| {
            let entries = s
                .entries
                .into_iter()
                .map(|e| {
                    let t: Timestamp = e.timestamp.unwrap_or_default();
                    Entry {
                        ns: i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos),
                        line: e.line,
                        metadata: e
                            .structured_metadata
                            .into_iter()
                            .map(|p| (p.name, p.value))
                            .collect(),
                    }
                })
                .collect();
            (s.labels, entries)
        })
        .collect())
}

fn rfc3339(ns: i128) -> String {
    jiff::Timestamp::from_nanosecond(ns).map_or_else(|_| ns.to_string(), |t| t.to_string())
}

async fn push(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let number = shared.db.lock().unwrap().requests.len();
    let fault = (shared.behaviour.lock().unwrap())(number);
    if let Some(fault) = fault {
        shared
            .db
            .lock()
            .unwrap()
            .requests
            .push((fault.status, headers));
        if let Some(delay) = fault.delay {
            // Late: the client gave up; nothing is stored.
            tokio::time::sleep(delay).await;
        }
        let mut response = (
            StatusCode::from_u16(fault.status).unwrap(),
            "Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec)\n",
        )
            .into_response();
        if let Some(after) = fault.retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    let tenant = headers
        .get("x-scope-orgid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let streams = match decode(&headers, &body) {
        Ok(s) => s,
        Err(e) => {
            shared.db.lock().unwrap().requests.push((400, headers));
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let oldest = *shared.oldest_ns.lock().unwrap();
    let mut db = shared.db.lock().unwrap();
    let mut errors = Vec::new();
    for (text, entries) in streams {
        let labels = match parse_labels(&text) {
            Ok(l) => l,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !shared.record {
            continue;
        }
        let stored = db
            .streams
            .entry(tenant.clone())
            .or_default()
            .entry(labels)
            .or_default();
        for entry in entries {
            if entry.ns < oldest {
                errors.push(format!(
                    "entry for stream '{text}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    rfc3339(entry.ns),
                    rfc3339(oldest)
                ));
                continue;
            }
            if stored
                .iter()
                .any(|e| e.ns == entry.ns && e.line == entry.line)
            {
                continue;
            }
            if shared.ordered && stored.last().is_some_and(|last| entry.ns < last.ns) {
                errors.push(format!(
                    "entry with timestamp {} ignored, reason: 'entry out of order' for stream: {text}",
                    rfc3339(entry.ns)
                ));
                continue;
            }
            stored.push(entry);
        }
    }
    let status = if errors.is_empty() { 204 } else { 400 };
    db.refused.extend(errors.iter().cloned());
    db.requests.push((status, headers));
    if errors.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::BAD_REQUEST, format!("{}\n", errors.join("\n"))).into_response()
    }
}
