//! Protocol mode against an MCP server built with rmcp's server side, and route
//! isolation: an MCP server that is down or slow holds up only its own route.

use kev_core::testkit::pipeline::{EventsSource, PassThrough};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, Route, SinkPolicy};
use kev_core::{Batch, Event, MemoryStore, Sink, SinkError, Store, StoredEvent};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{backoff_event, context, record};
use crate::mcp::{McpSinkConfig, OutcomeStatus, Protocol, RemediationMode};
use kev_core::testkit::sink::Fault;

/// A `remediate` tool that records its arguments and, when given a gate, waits for a
/// permit before answering (a remediation that takes long). While `fault` is set it
/// refuses every call: an internal error (retryable) or invalid params (permanent).
#[derive(Clone, Default)]
pub(super) struct Remediator {
    /// Arguments of every call, refused ones included.
    pub calls: Arc<Mutex<Vec<JsonObject>>>,
    /// Arguments of the calls answered with a result.
    pub accepted: Arc<Mutex<Vec<JsonObject>>>,
    /// `_meta` of every call.
    pub metas: Arc<Mutex<Vec<JsonObject>>>,
    /// Sessions opened (`notifications/initialized` received).
    pub sessions: Arc<std::sync::atomic::AtomicUsize>,
    pub fault: Arc<Mutex<Option<Fault>>>,
    gate: Option<Arc<Semaphore>>,
}

impl ServerHandler for Remediator {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn on_initialized(&self, _context: rmcp::service::NotificationContext<RoleServer>) {
        self.sessions
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "remediate" {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {}", request.name),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        self.metas.lock().unwrap().push(context.meta.0.0.clone());
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(args.clone());
            calls.len()
        };
        match *self.fault.lock().unwrap() {
            Some(Fault::Retryable) => return Err(ErrorData::internal_error("overloaded", None)),
            Some(Fault::Permanent) => {
                return Err(ErrorData::invalid_params("refused by the test", None));
            }
            None => {}
        }
        if let Some(gate) = &self.gate {
            let _permit = gate
                .acquire()
                .await
                .map_err(|_| ErrorData::internal_error("gate closed", None))?;
        }
        if args
            .get("issue")
            .and_then(Value::as_str)
            .is_some_and(|i| i.contains("broken"))
        {
            return Ok(CallToolResult::error(vec![ContentBlock::text("kubectl failed")]).into());
        }
        self.accepted.lock().unwrap().push(args.clone());
        // The dot-ai MCP tool answers with its JSON result as text.
        let answer = json!({
            "success": true,
            "data": {"result": {"summary": format!("fixed #{n}")}, "tool": "remediate", "executionTime": 1500},
            "meta": {"requestId": format!("mcp-req-{n}")}
        });
        Ok(CallToolResult::success(vec![ContentBlock::text(answer.to_string())]).into())
    }
}

pub(super) struct McpServer {
    pub addr: std::net::SocketAddr,
    pub url: String,
    pub headers: Arc<Mutex<Vec<HeaderMap>>>,
    /// The server's sessions: clearing them makes it answer 404 to the session id.
    pub sessions: Arc<LocalSessionManager>,
    pub stop: CancellationToken,
}

pub(super) async fn serve_mcp(
    remediator: Remediator,
    listener: tokio::net::TcpListener,
) -> McpServer {
    let stop = CancellationToken::new();
    let sessions = Arc::new(LocalSessionManager::default());
    let service: StreamableHttpService<Remediator, LocalSessionManager> =
        StreamableHttpService::new(
            move || Ok(remediator.clone()),
            sessions.clone(),
            StreamableHttpServerConfig::default()
                .with_sse_keep_alive(None)
                .with_cancellation_token(stop.child_token()),
        );
    let headers = Arc::new(Mutex::new(Vec::new()));
    let seen = headers.clone();
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                seen.lock().unwrap().push(req.headers().clone());
                next.run(req)
            },
        ));
    let addr = listener.local_addr().unwrap();
    let token = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled_owned().await })
            .await;
    });
    McpServer {
        addr,
        url: format!("http://{addr}/mcp"),
        headers,
        sessions,
        stop,
    }
}

impl McpServer {
    /// Stops the server and waits until its address refuses connections.
    async fn shut_down(&self) {
        self.stop.cancel();
        let addr = self.addr;
        eventually("the old server to stop accepting", || {
            std::net::TcpStream::connect(addr).is_err()
        })
        .await;
    }
}

/// A new server process on `addr` (a restart, or the first start after an outage),
/// with a new remediator: it knows no earlier session.
async fn serve_mcp_at(addr: std::net::SocketAddr) -> (Remediator, McpServer) {
    let remediator = Remediator::default();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let server = serve_mcp(remediator.clone(), listener).await;
    (remediator, server)
}

pub(super) async fn start_mcp(remediator: Remediator) -> McpServer {
    serve_mcp(
        remediator,
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
}

pub(super) fn mcp_config(url: &str) -> McpSinkConfig {
    let mut config = McpSinkConfig::new(url);
    config.protocol = Protocol::Mcp;
    config
}

#[tokio::test]
async fn mcp_tool_call_arguments_field_by_field() {
    let remediator = Remediator::default();
    let server = start_mcp(remediator.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut config = mcp_config(&server.url);
    config.mode = RemediationMode::Automatic;
    config.token_file = Some(super::token_file(&dir));
    let sink = config.build("crashloops", store.clone()).unwrap();
    let event = backoff_event(1, "api-5f6b8d9c47-qwxzr");
    let (events, contexts) = ([event.clone()], [context()]);
    sink.deliver(kev_core::Batch::enriched(&events, &contexts))
        .await
        .unwrap();

    let calls = remediator.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let args = &calls[0];
    let mut keys: Vec<&str> = args.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "confidenceThreshold",
            "context",
            "issue",
            "maxRiskLevel",
            "mode",
            "policy"
        ]
    );
    assert_eq!(
        args["issue"],
        "Pod api-5f6b8d9c47-qwxzr in namespace shop has a BackOff event: Back-off restarting failed container api in pod"
    );
    assert_eq!(args["mode"], "automatic");
    assert_eq!(args["confidenceThreshold"], 0.8);
    assert_eq!(args["maxRiskLevel"], "low");
    assert_eq!(args["policy"], "crashloops");
    assert_eq!(
        args["context"]["event"],
        serde_json::to_value(&event.event).unwrap()
    );
    assert_eq!(args["context"]["logs"][1]["previous"], true);
    assert_eq!(
        args["context"]["logs"][1]["text"],
        "panic: no DATABASE_URL\n"
    );
    assert_eq!(args["context"]["podSpec"]["kind"], "Pod");
    assert_eq!(args["context"]["relatedEvents"][0]["uid"], "older");
    assert_eq!(args["context"]["failures"][0]["part"], "related_events");
    // Every request of the session carried the token; the call, the idempotency key.
    let headers = server.headers.lock().unwrap().clone();
    assert!(!headers.is_empty());
    for h in &headers {
        assert_eq!(h["authorization"], "Bearer s3cr3t-token");
    }
    let metas = remediator.metas.lock().unwrap().clone();
    assert_eq!(metas[0][crate::mcp::IDEMPOTENCY_META_KEY], "uid-1/101");
    // The call also carries it as the header the REST mode sends; nothing else does.
    let keys: Vec<&str> = headers
        .iter()
        .filter_map(|h| h.get("idempotency-key"))
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(keys, ["uid-1/101"], "{} requests", headers.len());

    let rec = record(&store, &event).unwrap();
    assert_eq!(rec.status, OutcomeStatus::Success);
    assert_eq!(rec.summary.as_deref(), Some("fixed #1"));
    assert_eq!(rec.request_id.as_deref(), Some("mcp-req-1"));
    assert_eq!(rec.protocol, "mcp");
    assert_eq!(rec.tool.as_deref(), Some("remediate"));
    server.stop.cancel();
}

#[tokio::test]
async fn mcp_tool_errors_are_failed_or_rejected() {
    let remediator = Remediator::default();
    let server = start_mcp(remediator.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = mcp_config(&server.url).build("r", store.clone()).unwrap();
    let mut broken = backoff_event(1, "web-0");
    broken.event.message = "broken".into();
    sink.deliver(kev_core::Batch::new(std::slice::from_ref(&broken)))
        .await
        .unwrap();
    let rec = record(&store, &broken).unwrap();
    assert_eq!(rec.status, OutcomeStatus::Failed);
    assert_eq!(rec.error.as_deref(), Some("kubectl failed"));

    // A tool the server does not have: invalid params, refused for good.
    let mut config = mcp_config(&server.url);
    config.tool = "no-such-tool".into();
    let sink = config.build("r", store.clone()).unwrap();
    let event = backoff_event(2, "web-0");
    let err = sink
        .deliver(kev_core::Batch::new(std::slice::from_ref(&event)))
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(err.message.contains("unknown tool no-such-tool"), "{err}");
    assert_eq!(
        record(&store, &event).unwrap().status,
        OutcomeStatus::Rejected
    );
    server.stop.cancel();
}

// ---- route isolation ----

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<u64>>);

#[async_trait]
impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        self.0.lock().unwrap().extend(batch.iter().map(|e| e.seq));
        Ok(())
    }
}

/// Waits (in real time, bounded) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn events(n: u64) -> Vec<Event> {
    (1..=n).map(|i| backoff_event(i, "web-0").event).collect()
}

/// Two routes over the same store: `fix` to the MCP sink, `log` to a recorder.
fn pipeline(store: &Arc<MemoryStore>, mcp_url: &str, n: u64) -> (Pipeline, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let store_dyn: Arc<dyn Store> = store.clone();
    let sink = mcp_config(mcp_url).build("fix", store_dyn.clone()).unwrap();
    let policy = SinkPolicy {
        max_events: 10,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        ..SinkPolicy::default()
    };
    let pipeline = Pipeline::new(
        Box::new(EventsSource::new(events(n))),
        Arc::new(PassThrough),
        store_dyn,
    )
    .route(
        Route::new("fix", Arc::new(KeepAll))
            .sink(Arc::new(sink))
            .policy(policy),
    )
    .route(Route::new("log", Arc::new(KeepAll)).sink(recorder.clone()));
    (pipeline, recorder)
}

#[tokio::test]
async fn mcp_down_is_retried_with_backoff_and_other_route_unaffected() {
    // Reserve a port, leave it closed until the server starts.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let store = Arc::new(MemoryStore::new());
    let (pipeline, recorder) = pipeline(&store, &format!("http://{addr}/mcp"), 5);
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));

    eventually("the log route to deliver all", || {
        recorder.0.lock().unwrap().len() == 5
    })
    .await;
    assert_eq!(*recorder.0.lock().unwrap(), [1, 2, 3, 4, 5]);
    // The fix route has been failing meanwhile; its cursor has not moved.
    assert_eq!(store.cursor("fix").unwrap(), 0);

    let (remediator, server) = serve_mcp_at(addr).await;
    let report = run.await.unwrap().unwrap();
    let fix = report.routes.iter().find(|r| r.route == "fix").unwrap();
    assert_eq!(fix.delivered, 5);
    assert_eq!(fix.dead_lettered, 0);
    let issues: Vec<String> = remediator
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|a| a["context"]["event"]["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(issues, ["uid-1", "uid-2", "uid-3", "uid-4", "uid-5"]);
    for i in 1..=5 {
        let rec = record(&store, &backoff_event(i, "web-0")).unwrap();
        assert_eq!(rec.status, OutcomeStatus::Success);
    }
    server.stop.cancel();
}

#[tokio::test]
async fn a_pending_remediation_holds_up_only_its_route() {
    let gate = Arc::new(Semaphore::new(0));
    let remediator = Remediator {
        gate: Some(gate.clone()),
        ..Default::default()
    };
    let server = start_mcp(remediator.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let (pipeline, recorder) = pipeline(&store, &server.url, 3);
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));

    eventually("the first tool call", || {
        remediator.calls.lock().unwrap().len() == 1
    })
    .await;
    eventually("the log route to deliver all", || {
        recorder.0.lock().unwrap().len() == 3
    })
    .await;
    // Still one call in flight, nothing else sent to the tool.
    assert_eq!(remediator.calls.lock().unwrap().len(), 1);
    gate.add_permits(3);
    let report = run.await.unwrap().unwrap();
    let fix = report.routes.iter().find(|r| r.route == "fix").unwrap();
    assert_eq!(fix.delivered, 3);
    assert_eq!(remediator.calls.lock().unwrap().len(), 3);
    server.stop.cancel();
}

// ---- one session per sink ----

fn opened(remediator: &Remediator) -> usize {
    remediator
        .sessions
        .load(std::sync::atomic::Ordering::SeqCst)
}

fn accepted_uids(remediator: &Remediator) -> Vec<String> {
    remediator
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|a| a["context"]["event"]["uid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_session_serves_every_call_of_a_sink() {
    let remediator = Remediator::default();
    let server = start_mcp(remediator.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = mcp_config(&server.url).build("r", store).unwrap();
    let events: Vec<StoredEvent> = (1..=5).map(|i| backoff_event(i, "web-0")).collect();
    sink.deliver(kev_core::Batch::new(&events[..2]))
        .await
        .unwrap();
    sink.deliver(kev_core::Batch::new(&events[2..3]))
        .await
        .unwrap();
    sink.deliver(kev_core::Batch::new(&events[3..]))
        .await
        .unwrap();
    assert_eq!(accepted_uids(&remediator).len(), 5);
    assert_eq!(opened(&remediator), 1, "one initialize for five calls");
    // Every call after the first carried the same session id.
    let ids: std::collections::HashSet<String> = server
        .headers
        .lock()
        .unwrap()
        .iter()
        .filter_map(|h| h.get("mcp-session-id"))
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    server.stop.cancel();
}

#[tokio::test]
async fn a_session_the_server_forgot_is_reopened_without_an_error() {
    let remediator = Remediator::default();
    let server = start_mcp(remediator.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = mcp_config(&server.url).build("r", store).unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap();
    assert_eq!(opened(&remediator), 1);

    // The server drops every session: the next request's session id gets a 404.
    server.sessions.sessions.write().await.clear();
    sink.deliver(kev_core::Batch::new(&[backoff_event(2, "web-0")]))
        .await
        .unwrap();
    assert_eq!(opened(&remediator), 2, "a new session was initialized");
    assert_eq!(accepted_uids(&remediator), ["uid-1", "uid-2"]);
    let statuses = server.headers.lock().unwrap().len();
    assert!(statuses > 0);
    server.stop.cancel();
}

#[tokio::test]
async fn a_restarted_server_gets_a_new_session_and_an_outage_is_retryable() {
    let first = Remediator::default();
    let server = start_mcp(first.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = mcp_config(&server.url).build("r", store).unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap();

    // The server goes away: the call fails, retryable, and nothing is acknowledged.
    server.shut_down().await;
    let err = sink
        .deliver(kev_core::Batch::new(&[backoff_event(2, "web-0")]))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.delivered, 0);

    // A new server process on the same address knows nothing of the old session.
    let (second, server) = serve_mcp_at(server.addr).await;
    sink.deliver(kev_core::Batch::new(&[backoff_event(2, "web-0")]))
        .await
        .unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(3, "web-0")]))
        .await
        .unwrap();
    assert_eq!(accepted_uids(&first), ["uid-1"]);
    assert_eq!(accepted_uids(&second), ["uid-2", "uid-3"]);
    assert_eq!(opened(&second), 1, "one new session for both calls");
    server.stop.cancel();
}

#[tokio::test]
async fn a_restart_between_calls_is_transparent() {
    let server = start_mcp(Remediator::default()).await;
    let store = Arc::new(MemoryStore::new());
    let sink = mcp_config(&server.url).build("r", store).unwrap();
    sink.deliver(kev_core::Batch::new(&[backoff_event(1, "web-0")]))
        .await
        .unwrap();
    server.shut_down().await;
    let (second, server) = serve_mcp_at(server.addr).await;
    // No call happened during the outage: the first one after it just works.
    sink.deliver(kev_core::Batch::new(&[backoff_event(2, "web-0")]))
        .await
        .unwrap();
    assert_eq!(accepted_uids(&second), ["uid-2"]);
    assert_eq!(opened(&second), 1);
    server.stop.cancel();
}
