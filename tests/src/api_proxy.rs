//! [`ApiProxy`]: an HTTP proxy in front of a [`FakeApiServer`] that counts requests per
//! verb and group, can hide the events.k8s.io/v1 group (an old cluster), and can answer
//! the next writes with an error Status (429, 409, 500) — what the event recorder's
//! suites need without changing the fake server.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::fake_api::{FakeApiServer, Group};

/// One request seen by the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The answer's status code.
    pub status: u16,
}

/// An error answer for the next write (POST or PATCH), instead of forwarding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFault {
    pub status: u16,
    /// The Status `reason` (`TooManyRequests`, `AlreadyExists`, `InternalError`).
    pub reason: String,
    /// `Retry-After` header and `details.retryAfterSeconds`.
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    hide_events: AtomicBool,
    seen: Mutex<Vec<Seen>>,
    faults: Mutex<VecDeque<WriteFault>>,
}

/// The proxy; dropped, it stops.
#[derive(Debug)]
pub struct ApiProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
}

impl ApiProxy {
    /// Starts on 127.0.0.1 on a free port, forwarding to `upstream`.
    pub async fn start(upstream: &FakeApiServer) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ProxyState {
            upstream: upstream.url(),
            http: reqwest::Client::new(),
            hide_events: AtomicBool::new(false),
            seen: Mutex::default(),
            faults: Mutex::default(),
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state, task })
    }

    /// A `kube::Client` that talks through the proxy.
    pub fn client(&self) -> kube::Client {
        let uri: http::Uri = format!("http://{}", self.addr).parse().unwrap_or_default();
        kube::Client::try_from(kube::Config::new(uri))
            .unwrap_or_else(|e| panic!("kube client for the proxy: {e}"))
    }

    /// As [`client`](Self::client), without kube's own retries of 429/503/504.
    pub fn client_without_retries(&self) -> kube::Client {
        let uri: http::Uri = format!("http://{}", self.addr).parse().unwrap_or_default();
        let mut config = kube::Config::new(uri);
        config.default_retry = false;
        kube::Client::try_from(config).unwrap_or_else(|e| panic!("kube client for the proxy: {e}"))
    }

    /// Hide (or show again) events.k8s.io: every path under `/apis/events.k8s.io` is a
    /// 404, as on a server that does not serve the group.
    pub fn hide_events_group(&self, hide: bool) {
        self.state.hide_events.store(hide, Ordering::Relaxed);
    }

    /// Answer the next `count` writes with `fault`.
    pub fn fail_next_writes(&self, count: usize, fault: WriteFault) {
        let mut f = lock(&self.state.faults);
        f.extend(std::iter::repeat_n(fault, count));
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state.seen).clone()
    }

    /// Requests with `method` (`POST`, `PATCH`, `GET`) to Event paths of `group`.
    pub fn requests(&self, method: &str, group: Group) -> usize {
        let prefix = match group {
            Group::Core => "/api/v1/",
            Group::Events => "/apis/events.k8s.io/v1/",
        };
        lock(&self.state.seen)
            .iter()
            .filter(|s| {
                s.method == method && s.path.starts_with(prefix) && s.path.contains("/events")
            })
            .count()
    }
}

impl Drop for ApiProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn status(code: u16, reason: &str, message: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    if let Some(s) = retry_after {
        body["details"] = json!({"retryAfterSeconds": s});
    }
    let mut r = (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(s) = retry_after
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let response =
        if state.hide_events.load(Ordering::Relaxed) && path.starts_with("/apis/events.k8s.io") {
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            )
        } else if let Some(fault) = (method == http::Method::POST || method == http::Method::PATCH)
            .then(|| lock(&state.faults).pop_front())
            .flatten()
        {
            status(
                fault.status,
                &fault.reason,
                "injected by the proxy",
                fault.retry_after_secs,
            )
        } else {
            let body = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
                Ok(b) => b,
                Err(e) => return status(400, "BadRequest", &e.to_string(), None),
            };
            let mut upstream = state
                .http
                .request(
                    method.clone(),
                    format!("{}{path_and_query}", state.upstream),
                )
                .body(body);
            if let Some(ct) = content_type {
                upstream = upstream.header(header::CONTENT_TYPE, ct);
            }
            match upstream.send().await {
                Ok(r) => {
                    let code = r.status();
                    let ct = r.headers().get(header::CONTENT_TYPE).cloned();
                    let bytes = r.bytes().await.unwrap_or_default();
                    let mut out = Response::new(Body::from(bytes));
                    *out.status_mut() = code;
                    if let Some(ct) = ct {
                        out.headers_mut().insert(header::CONTENT_TYPE, ct);
                    }
                    out
                }
                Err(e) => status(
                    502,
                    "InternalError",
                    &format!("proxy: upstream failed: {e}"),
                    None,
                ),
            }
        };
    lock(&state.seen).push(Seen {
        method: method.to_string(),
        path,
        status: response.status().as_u16(),
    });
    response
}
