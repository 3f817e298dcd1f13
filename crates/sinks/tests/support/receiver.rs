//! A real HTTP receiver on 127.0.0.1 (axum) for webhook tests and benches: it records
//! every request and answers as a test-set behaviour says (status, Retry-After, delay).

// Test support: a panic here is a failed test, with its message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kev_core::Event;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub headers: HeaderMap,
    /// The events in the body (one object, or an array).
    pub events: Vec<Event>,
    /// The `context` member of each event, when the route gathered context.
    pub contexts: Vec<Option<serde_json::Value>>,
    /// True when the body was a JSON array.
    pub array: bool,
    /// The body as sent (a templated body is not an Event).
    pub body: Bytes,
    /// The status answered.
    pub status: u16,
    /// Answered after a delay (the client may have given up before); not counted as
    /// accepted.
    pub late: bool,
}

/// What to answer.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
    pub body: Option<String>,
}

impl Reply {
    pub fn ok() -> Self {
        Self {
            status: 200,
            ..Default::default()
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Default::default()
        }
    }
}

type Behaviour = Box<dyn FnMut(&Seen) -> Reply + Send>;

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Don't keep requests (benches).
    record: bool,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts a receiver that answers 200 to everything.
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// A receiver that counts nothing, for benches.
    pub async fn start_unrecorded() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(record: bool) -> Self {
        let shared = Shared {
            seen: Arc::default(),
            behaviour: Arc::new(Mutex::new(Box::new(|_: &Seen| Reply::ok()))),
            record,
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn behave(&self, f: impl FnMut(&Seen) -> Reply + Send + 'static) {
        *self.shared.behaviour.lock().unwrap() = Box::new(f);
    }

    /// Every request so far, in the order they arrived.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Events of requests answered 2xx in time, in order.
    pub fn accepted_events(&self) -> Vec<Event> {
        self.seen()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status) && !s.late)
            .flat_map(|s| s.events)
            .collect()
    }

    pub fn clear(&self) {
        self.shared.seen.lock().unwrap().clear();
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let array = body.first() == Some(&b'[');
    let events = if !shared.record {
        Vec::new()
    } else if array {
        serde_json::from_slice::<Vec<Event>>(&body).unwrap_or_default()
    } else {
        serde_json::from_slice::<Event>(&body).map_or_else(|_| Vec::new(), |e| vec![e])
    };
    let contexts = if !shared.record {
        Vec::new()
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default() {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|i| i.get("context").cloned())
                .collect(),
            one => vec![one.get("context").cloned()],
        }
    };
    let mut seen = Seen {
        method,
        path: uri.path().to_owned(),
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
        headers: headers.clone(),
        events,
        contexts,
        array,
        body: body.clone(),
        status: 0,
        late: false,
    };
    let reply = (shared.behaviour.lock().unwrap())(&seen);
    seen.status = reply.status;
    // Recorded before a delay: the client may give up and close the connection, which
    // drops this handler.
    seen.late = reply.delay.is_some();
    if shared.record {
        shared.seen.lock().unwrap().push(seen);
    }
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = match reply.body {
        Some(body) => (status, body).into_response(),
        None => status.into_response(),
    };
    if let Some(after) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}
