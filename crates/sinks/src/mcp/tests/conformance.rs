//! The shared sink conformance suite, run unchanged against the MCP sink in both modes:
//! REST against a local axum gateway, MCP against an rmcp server. The receiver's events
//! are read back from `context.event` of the requests it answered with a result.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use kev_core::testkit::sink::{Fault, SinkHarness, check_sink};
use kev_core::{Event, MemoryStore, Sink};
use serde_json::Value;

use super::mcp_server::{McpServer, Remediator, mcp_config, start_mcp};
use super::success_body;
use crate::mcp::McpSinkConfig;

fn event_of(args: &serde_json::Map<String, Value>) -> Event {
    serde_json::from_value(args["context"]["event"].clone()).unwrap()
}

/// The REST gateway's state: the bodies it answered 200, and the fault to answer with.
#[derive(Clone, Default)]
struct GatewayState {
    accepted: Arc<Mutex<Vec<Value>>>,
    fault: Arc<Mutex<Option<Fault>>>,
}

async fn gateway(State(state): State<GatewayState>, body: String) -> (StatusCode, String) {
    let body: Value = serde_json::from_str(&body).unwrap();
    match *state.fault.lock().unwrap() {
        Some(Fault::Retryable) => return (StatusCode::SERVICE_UNAVAILABLE, "busy".into()),
        Some(Fault::Permanent) => return (StatusCode::BAD_REQUEST, "{\"success\":false}".into()),
        None => {}
    }
    state.accepted.lock().unwrap().push(body);
    (StatusCode::OK, success_body("req-conformance"))
}

struct RestHarness {
    url: String,
    state: GatewayState,
}

impl RestHarness {
    async fn start() -> Self {
        let state = GatewayState::default();
        let app = axum::Router::new()
            .route("/api/v1/tools/remediate", post(gateway))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/api/v1/tools/remediate"),
            state,
        }
    }
}

#[async_trait]
impl SinkHarness for RestHarness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        self.state.accepted.lock().unwrap().clear();
        *self.state.fault.lock().unwrap() = None;
        let store = Arc::new(MemoryStore::new());
        Arc::new(McpSinkConfig::new(&self.url).build("r", store).unwrap())
    }

    async fn received(&mut self) -> Vec<Event> {
        let accepted = self.state.accepted.lock().unwrap().clone();
        accepted
            .iter()
            .map(|body| event_of(body.as_object().unwrap()))
            .collect()
    }

    async fn fail(&mut self, fault: Fault) -> bool {
        *self.state.fault.lock().unwrap() = Some(fault);
        true
    }

    async fn heal(&mut self) {
        *self.state.fault.lock().unwrap() = None;
    }
}

#[tokio::test]
async fn rest_mode_passes_the_conformance_suite() {
    check_sink(&mut RestHarness::start().await).await;
}

struct McpHarness {
    remediator: Remediator,
    server: McpServer,
}

#[async_trait]
impl SinkHarness for McpHarness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        self.remediator.accepted.lock().unwrap().clear();
        *self.remediator.fault.lock().unwrap() = None;
        let store = Arc::new(MemoryStore::new());
        Arc::new(mcp_config(&self.server.url).build("r", store).unwrap())
    }

    async fn received(&mut self) -> Vec<Event> {
        let accepted = self.remediator.accepted.lock().unwrap().clone();
        accepted.iter().map(event_of).collect()
    }

    async fn fail(&mut self, fault: Fault) -> bool {
        *self.remediator.fault.lock().unwrap() = Some(fault);
        true
    }

    async fn heal(&mut self) {
        *self.remediator.fault.lock().unwrap() = None;
    }
}

#[tokio::test]
async fn mcp_mode_passes_the_conformance_suite() {
    let remediator = Remediator::default();
    let server = start_mcp(remediator.clone()).await;
    let mut harness = McpHarness { remediator, server };
    check_sink(&mut harness).await;
    harness.server.stop.cancel();
}
