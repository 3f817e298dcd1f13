//! An Elasticsearch bulk endpoint on 127.0.0.1 (axum), faithful to the documented bulk
//! API: `POST /_bulk` with NDJSON action/document pairs (`index`, `create`), documents
//! kept per index by `_id` with a version, `create` of an existing `_id` answered 409
//! `version_conflict_engine_exception`, dynamic mapping with its conflicts (a dotted
//! field name is an object path; a field mapped as one type and sent as another is a
//! 400 `mapper_parsing_exception` / `document_parsing_exception` for that item), the
//! answer's `errors` flag and per-item `status`/`error`. A test can reject chosen items
//! once with 429 `es_rejected_execution_exception`, or make the whole request fail.

// Test support: a panic here is a failed test, with its message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
}

type Behaviour = Box<dyn FnMut(usize) -> Option<Fault> + Send>;

#[derive(Debug, Clone)]
pub struct Doc {
    pub source: Value,
    pub version: u64,
}

#[derive(Default)]
struct Db {
    /// index → _id → document.
    indices: BTreeMap<String, BTreeMap<String, Doc>>,
    /// index → field path → mapped type.
    mappings: BTreeMap<String, BTreeMap<String, &'static str>>,
    /// Item statuses of each request (empty for a whole-request fault).
    requests: Vec<Vec<u16>>,
    /// _ids to answer 429 the next time they come.
    reject_once: BTreeSet<String>,
}

#[derive(Clone)]
struct Shared {
    db: Arc<Mutex<Db>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

pub struct EsReceiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EsReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EsReceiver {
    pub async fn start() -> Self {
        let shared = Shared {
            db: Arc::default(),
            behaviour: Arc::new(Mutex::new(Box::new(|_| None))),
        };
        let app = axum::Router::new()
            .route("/_bulk", axum::routing::post(bulk))
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

    pub fn behave(&self, f: impl FnMut(usize) -> Option<Fault> + Send + 'static) {
        *self.shared.behaviour.lock().unwrap() = Box::new(f);
    }

    /// The item with `_id` is answered 429 once.
    pub fn reject_once(&self, id: &str) {
        self.shared
            .db
            .lock()
            .unwrap()
            .reject_once
            .insert(id.to_owned());
    }

    /// Maps `path` in `index` as `kind` before any document (an index template).
    pub fn map(&self, index: &str, path: &str, kind: &'static str) {
        self.shared
            .db
            .lock()
            .unwrap()
            .mappings
            .entry(index.to_owned())
            .or_default()
            .insert(path.to_owned(), kind);
    }

    pub fn indices(&self) -> BTreeMap<String, BTreeMap<String, Doc>> {
        self.shared.db.lock().unwrap().indices.clone()
    }

    pub fn requests(&self) -> Vec<Vec<u16>> {
        self.shared.db.lock().unwrap().requests.clone()
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "long",
        Value::String(_) => "text",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every (path, type) of a document, a dotted key split into objects as
/// Elasticsearch's dynamic mapping does.
fn fields(prefix: &str, value: &Value, out: &mut Vec<(String, &'static str)>) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        let mut path = prefix.to_owned();
        for (i, part) in key.split('.').enumerate() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(part);
            if i + 1 < key.split('.').count() {
                out.push((path.clone(), "object"));
            }
        }
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    if item.is_object() {
                        out.push((path.clone(), "object"));
                        fields(&path, item, out);
                    } else {
                        out.push((path.clone(), kind_of(item)));
                    }
                }
            }
            Value::Object(_) => {
                out.push((path.clone(), "object"));
                fields(&path, v, out);
            }
            other => out.push((path.clone(), kind_of(other))),
        }
    }
}

/// Checks `doc` against `index`'s mapping and adds its new fields.
fn map_document(mapping: &mut BTreeMap<String, &'static str>, doc: &Value) -> Result<(), String> {
    let mut found = Vec::new();
    fields("", doc, &mut found);
    let mut new = BTreeMap::new();
    for (path, kind) in found {
        let known = mapping.get(&path).or_else(|| new.get(&path)).copied();
        match known {
            Some(k) if k == kind || (k == "float" && kind == "long") => {}
            Some("object") => {
                return Err(format!(
                    "can't merge a non object mapping [{path}] with an object mapping"
                ));
            }
            Some(k) if kind == "object" => {
                return Err(format!(
                    "Could not dynamically add mapping for field [{path}]. Existing mapping for [{path}] must be of type object but found [{k}]."
                ));
            }
            Some(k) => {
                return Err(format!(
                    "failed to parse field [{path}] of type [{k}] in document. Preview of field's value: a {kind}"
                ));
            }
            None => {
                new.insert(path, kind);
            }
        }
    }
    mapping.extend(new);
    Ok(())
}

async fn bulk(State(shared): State<Shared>, body: Bytes) -> Response {
    let number = shared.db.lock().unwrap().requests.len();
    let fault = (shared.behaviour.lock().unwrap())(number);
    if let Some(fault) = fault {
        shared.db.lock().unwrap().requests.push(Vec::new());
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        let error = json!({"error": {"type": "cluster_block_exception", "reason": "blocked by: [SERVICE_UNAVAILABLE/2/no master];"}, "status": fault.status});
        let mut response = (
            StatusCode::from_u16(fault.status).unwrap(),
            axum::Json(error),
        )
            .into_response();
        if let Some(after) = fault.retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut lines = text.lines();
    let mut items = Vec::new();
    let mut statuses = Vec::new();
    let mut db = shared.db.lock().unwrap();
    while let Some(action_line) = lines.next() {
        let action: Value = serde_json::from_str(action_line).unwrap();
        let (op, meta) = action.as_object().unwrap().iter().next().unwrap();
        let index = meta["_index"].as_str().unwrap().to_owned();
        let id = meta["_id"].as_str().unwrap().to_owned();
        let source: Value = serde_json::from_str(lines.next().expect("a document line")).unwrap();
        let (status, error) = if db.reject_once.remove(&id) {
            (
                429,
                Some(
                    json!({"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}),
                ),
            )
        } else {
            let mapping = db.mappings.entry(index.clone()).or_default();
            match map_document(mapping, &source) {
                Err(reason) => (
                    400,
                    Some(json!({"type": "document_parsing_exception", "reason": reason})),
                ),
                Ok(()) => {
                    let docs = db.indices.entry(index.clone()).or_default();
                    match (op.as_str(), docs.get_mut(&id)) {
                        ("create", Some(_)) => (
                            409,
                            Some(
                                json!({"type": "version_conflict_engine_exception", "reason": format!("[{id}]: version conflict, document already exists")}),
                            ),
                        ),
                        (_, Some(doc)) => {
                            doc.source = source;
                            doc.version += 1;
                            (200, None)
                        }
                        (_, None) => {
                            docs.insert(id.clone(), Doc { source, version: 1 });
                            (201, None)
                        }
                    }
                }
            }
        };
        statuses.push(status);
        let mut result = json!({"_index": index, "_id": id, "status": status});
        if let Some(error) = error {
            result["error"] = error;
        }
        items.push(json!({ op.clone(): result }));
    }
    let errors = statuses.iter().any(|s| *s >= 300);
    db.requests.push(statuses);
    axum::Json(json!({"took": 3, "errors": errors, "items": items})).into_response()
}
