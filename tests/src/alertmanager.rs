//! A real Alertmanager for the suites ([`Alertmanager`]: Debian's
//! `prometheus-alertmanager` on a free port, clustering off, one receiver that sends
//! nothing), asked through its API v2; and [`FaultProxy`], which stands in front of it
//! and answers scheduled requests with a fault instead of forwarding them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::process::{Child, Command};

/// A running `prometheus-alertmanager`, killed when dropped.
#[derive(Debug)]
pub struct Alertmanager {
    _child: Child,
    pub url: String,
    http: reqwest::Client,
}

impl Alertmanager {
    /// Starts `server` listening on `listen` (`127.0.0.1:PORT`), its data in `dir`.
    pub fn start(server: &Path, dir: &Path, listen: &str) -> Self {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route: {receiver: nowhere, group_wait: 1h}\nreceivers: [{name: nowhere}]\n",
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
        let log = dir.join("alertmanager.log");
        let log = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = Command::new(server)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={listen}"))
            // One instance: no gossip port to collide with another test's.
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        Self {
            _child: child,
            url: format!("http://{listen}"),
            http: reqwest::Client::new(),
        }
    }

    /// Waits until `/-/ready` answers 200.
    ///
    /// # Panics
    /// When it does not within `limit`.
    pub async fn wait_ready(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ready = self
                .http
                .get(format!("{}/-/ready", self.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Alertmanager at {} not ready within {limit:?}",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /api/v2/alerts`: the alerts it holds that have not ended.
    ///
    /// # Panics
    /// When Alertmanager does not answer with a JSON array.
    pub async fn alerts(&self) -> Vec<Value> {
        let body: Value = self
            .http
            .get(format!("{}/api/v2/alerts", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET alerts: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("alerts JSON: {e}"));
        match body {
            Value::Array(alerts) => alerts,
            other => panic!("not an array: {other}"),
        }
    }
}

/// A fault the proxy answers with instead of forwarding.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub status: u16,
    pub retry_after: Option<String>,
    /// Forward, but answer only after this long (the client has given up by then).
    pub delay: Option<Duration>,
}

type Schedule = Box<dyn FnMut(usize) -> Option<Fault> + Send>;

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    schedule: Arc<Mutex<Schedule>>,
    /// The status answered to each request, in order.
    answered: Arc<Mutex<Vec<u16>>>,
}

/// An HTTP proxy on 127.0.0.1 in front of an upstream: request `n` gets
/// `schedule(n)`'s fault, or the upstream's answer.
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    ///
    /// # Panics
    /// When it cannot listen.
    pub async fn start(
        upstream: &str,
        schedule: impl FnMut(usize) -> Option<Fault> + Send + 'static,
    ) -> Self {
        let shared = Shared {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            schedule: Arc::new(Mutex::new(Box::new(schedule))),
            answered: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The status answered to each request so far.
    pub fn answered(&self) -> Vec<u16> {
        self.shared
            .answered
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }
}

async fn forward(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let n = shared.answered.lock().map(|a| a.len()).unwrap_or_default();
        let mut schedule = shared.schedule.lock().unwrap_or_else(|e| e.into_inner());
        (schedule)(n)
    };
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let record = |code: u16| {
        if let Ok(mut answered) = shared.answered.lock() {
            answered.push(code);
        }
    };
    if let Some(fault) = fault.as_ref().filter(|f| f.delay.is_none()) {
        record(fault.status);
        let mut response = (status(fault.status), "injected fault").into_response();
        if let Some(after) = fault.retry_after.as_deref().and_then(|v| v.parse().ok()) {
            response.headers_mut().insert("retry-after", after);
        }
        return response;
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    if let Some(kind) = headers.get("content-type") {
        request = request.header("content-type", kind);
    }
    let answer = match request.send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            (status(code), r.bytes().await.unwrap_or_default()).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    // Recorded before the delay: the client gives up and drops this handler.
    record(answer.status().as_u16());
    if let Some(delay) = fault.and_then(|f| f.delay) {
        tokio::time::sleep(delay).await;
    }
    answer
}
