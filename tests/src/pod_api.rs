//! [`PodApi`]: a small API server for the object and pod-log endpoints the enricher
//! reads (`GET /api/v1/namespaces/{ns}/pods/{name}` and `…/log`), answering like the
//! real one: JSON objects, plain-text logs honouring `container`, `tailLines` and
//! `previous`, `Status` bodies for errors.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// `(namespace, pod, container, previous)`: which log.
type LogKey = (String, String, String, bool);

/// Pods and their containers' logs, served on 127.0.0.1.
#[derive(Debug, Clone, Default)]
pub struct PodApi {
    pods: Arc<Mutex<HashMap<(String, String), Value>>>,
    logs: Arc<Mutex<HashMap<LogKey, String>>>,
    /// Query strings of the log requests, in order.
    pub log_requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// `(namespace, name)` of each pod GET, in order.
    pub pod_requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl PodApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pod object (its `metadata.namespace` and `metadata.name` place it).
    pub fn pod(&self, pod: Value) -> &Self {
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Ok(mut pods) = self.pods.lock() {
            pods.insert((ns, name), pod);
        }
        self
    }

    /// Removes a pod, as its deletion would; GETs then answer 404.
    pub fn remove(&self, ns: &str, name: &str) -> &Self {
        if let Ok(mut pods) = self.pods.lock() {
            pods.remove(&(ns.to_owned(), name.to_owned()));
        }
        self
    }

    /// Sets the log of one container (or of its previous instance).
    pub fn log(&self, ns: &str, pod: &str, container: &str, previous: bool, text: &str) -> &Self {
        if let Ok(mut logs) = self.logs.lock() {
            logs.insert(
                (ns.into(), pod.into(), container.into(), previous),
                text.into(),
            );
        }
        self
    }

    /// The pod and log routes, for a server of its own or merged into the fake API server.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/namespaces/{ns}/pods/{name}", get(get_pod))
            .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(get_log))
            .with_state(self.clone())
    }

    /// Serves on an ephemeral port of 127.0.0.1 until the runtime ends.
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let app = self.router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(addr)
    }
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()});
    (code, axum::Json(body)).into_response()
}

async fn get_pod(State(api): State<PodApi>, Path((ns, name)): Path<(String, String)>) -> Response {
    if let Ok(mut requests) = api.pod_requests.lock() {
        requests.push((ns.clone(), name.clone()));
    }
    let found = api
        .pods
        .lock()
        .ok()
        .and_then(|p| p.get(&(ns, name.clone())).cloned());
    match found {
        Some(pod) => axum::Json(pod).into_response(),
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("pods \"{name}\" not found"),
        ),
    }
}

async fn get_log(
    State(api): State<PodApi>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Ok(mut requests) = api.log_requests.lock() {
        requests.push(q.clone());
    }
    let container = q.get("container").cloned().unwrap_or_default();
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let text = api.logs.lock().ok().and_then(|l| {
        l.get(&(ns, name.clone(), container.clone(), previous))
            .cloned()
    });
    let Some(text) = text else {
        let what = if previous {
            "previous terminated container"
        } else {
            "container"
        };
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("{what} \"{container}\" in pod \"{name}\" not found"),
        );
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = q
        .get("tailLines")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(lines.len())
        .min(lines.len());
    let mut out = lines[lines.len() - tail..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out.into_response()
}
