//! MCP protocol mode: an MCP client over Streamable HTTP (the official `rmcp` SDK) that
//! keeps one session per sink and calls the configured tool in it.
//!
//! The session is opened (`initialize`) by the first call and reused. When the server
//! forgets it (HTTP 404 for the `Mcp-Session-Id`, as after a restart), rmcp initializes
//! a new one and repeats the request by itself. When the connection breaks, the session
//! is dropped and the call is made once more on a fresh one; only if that fails too does
//! the route see a (retryable) error.

use std::sync::Arc;
use std::time::Duration;

use kev_core::SinkError;
use kev_core::config::ConfigError;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ErrorCode, ErrorData,
    Implementation, InitializeRequestParams, JsonObject,
};
use rmcp::service::{ClientInitializeError, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::keyed_http::{IDEMPOTENCY_META_KEY, KeyedHttp};
use super::outcome::{Answer, OutcomeStatus, first_text};
use super::rest::read_answer_value;
use crate::http::{ClientOptions, TlsConfig, error_chain};

type Session = RunningService<RoleClient, InitializeRequestParams>;

/// An open session and the token it was opened with (a rotated token opens a new one).
struct Open {
    session: Arc<Session>,
    token: Option<String>,
}

/// Calls one tool of one MCP server, in one session reused across calls.
pub(super) struct McpClient {
    http: KeyedHttp,
    endpoint: Arc<str>,
    tool: String,
    timeout: Duration,
    /// Held only to open or drop the session, never across a call.
    open: Mutex<Option<Open>>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("endpoint", &self.endpoint)
            .field("tool", &self.tool)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl McpClient {
    pub fn new(
        endpoint: &str,
        tool: &str,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        // No overall timeout on the client: the session's event stream stays open across
        // calls; `call` bounds each call with `timeout` itself.
        let http = ClientOptions {
            timeout: None,
            connect_timeout,
            tls: &TlsConfig::default(),
        }
        .build_mcp()?;
        Ok(Self {
            http: KeyedHttp(http),
            endpoint: endpoint.into(),
            tool: tool.to_owned(),
            timeout,
            open: Mutex::new(None),
        })
    }

    /// `tools/call` in the sink's session (opened first if needed), within the timeout.
    /// `Err` is a failure to retry; a refusal is a [`OutcomeStatus::Rejected`] answer.
    pub async fn call(
        &self,
        args: Map<String, Value>,
        idempotency_key: &str,
        token: Option<&str>,
    ) -> Result<Answer, SinkError> {
        let mut meta = JsonObject::new();
        meta.insert(IDEMPOTENCY_META_KEY.into(), idempotency_key.into());
        let mut params = CallToolRequestParams::new(self.tool.clone()).with_arguments(args);
        params.meta = Some(meta.into());
        let token = token.map(str::to_owned);
        let attempt = async {
            let (session, reused) = self.session(token.as_ref()).await?;
            match session.call_tool(params.clone()).await {
                Err(e) if broken(&e) => {
                    self.forget(&session).await;
                    if !reused {
                        return call_error(e);
                    }
                    // A session that served calls before: its connection went stale.
                    tracing::debug!(error = %error_chain(&e), "MCP session broken; opening a new one");
                    let (session, _) = self.session(token.as_ref()).await?;
                    let result = session.call_tool(params).await;
                    if let Err(e) = &result
                        && broken(e)
                    {
                        self.forget(&session).await;
                    }
                    self.answer(result)
                }
                result => self.answer(result),
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SinkError::retryable(format!(
                "no answer from the MCP server within {:?}",
                self.timeout
            ))),
        }
    }

    fn answer(&self, result: Result<CallToolResult, ServiceError>) -> Result<Answer, SinkError> {
        match result {
            Ok(result) => Ok(read_result(&self.tool, result)),
            Err(e) => call_error(e),
        }
    }

    /// The open session, or a new one. True when the session served calls before.
    async fn session(&self, token: Option<&String>) -> Result<(Arc<Session>, bool), SinkError> {
        let mut open = self.open.lock().await;
        if let Some(o) = open.as_ref()
            && o.token.as_ref() == token
            && !o.session.is_closed()
            && !o.session.is_transport_closed()
        {
            return Ok((Arc::clone(&o.session), true));
        }
        let mut config = StreamableHttpClientTransportConfig::with_uri(Arc::clone(&self.endpoint));
        if let Some(token) = token {
            config = config.auth_header(token.clone());
        }
        let transport = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        let info = InitializeRequestParams::new(
            ClientCapabilities::default(),
            Implementation::new("kev", env!("CARGO_PKG_VERSION")),
        );
        let session = Arc::new(info.serve(transport).await.map_err(initialize_error)?);
        tracing::debug!(endpoint = %self.endpoint, "MCP session opened");
        *open = Some(Open {
            session: Arc::clone(&session),
            token: token.cloned(),
        });
        Ok((session, false))
    }

    /// Drops `session` if it is still the open one (a concurrent call may have replaced it).
    async fn forget(&self, session: &Arc<Session>) {
        let mut open = self.open.lock().await;
        if open
            .as_ref()
            .is_some_and(|o| Arc::ptr_eq(&o.session, session))
        {
            *open = None;
        }
    }
}

/// The request did not get through, or the session's worker has ended.
fn broken(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::TransportSend(_) | ServiceError::TransportClosed
    )
}

/// Invalid request, method not found, invalid params: asking again will not help.
fn refused(error: &ErrorData) -> bool {
    matches!(
        error.code,
        ErrorCode::INVALID_REQUEST | ErrorCode::METHOD_NOT_FOUND | ErrorCode::INVALID_PARAMS
    )
}

fn rejected(error: &ErrorData) -> Answer {
    Answer {
        status: OutcomeStatus::Rejected,
        summary: None,
        request_id: None,
        tool: None,
        execution_time: None,
        error: Some(format!(
            "JSON-RPC error {}: {}",
            error.code.0, error.message
        )),
    }
}

fn initialize_error(error: ClientInitializeError) -> SinkError {
    SinkError::retryable(format!("MCP initialize failed: {}", error_chain(&error)))
}

fn call_error(error: ServiceError) -> Result<Answer, SinkError> {
    match &error {
        ServiceError::McpError(data) if refused(data) => Ok(rejected(data)),
        ServiceError::UnexpectedResponse | ServiceError::InputRequiredRoundsExceeded { .. } => {
            Err(SinkError::permanent(format!("MCP tools/call: {error}")))
        }
        _ => Err(SinkError::retryable(format!(
            "MCP tools/call failed: {}",
            error_chain(&error)
        ))),
    }
}

/// The tool's result: a dot-ai style `{success, data, meta}` object (structured, or as
/// the JSON text of the content) is read like the REST answer; any other result is a
/// success unless `isError`, summarised by its text.
fn read_result(tool: &str, result: CallToolResult) -> Answer {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    let structured = result.structured_content.clone().or_else(|| {
        texts.iter().find_map(|t| {
            serde_json::from_str::<Value>(t)
                .ok()
                .filter(Value::is_object)
        })
    });
    let failed = result.is_error == Some(true);
    if let Some(mut answer) = structured.as_ref().and_then(read_answer_value) {
        if failed {
            answer.status = OutcomeStatus::Failed;
        }
        answer.tool.get_or_insert_with(|| tool.to_owned());
        return answer;
    }
    let summary = structured
        .as_ref()
        .and_then(|s| first_text(s, &["summary", "message", "output"]))
        .or_else(|| (!texts.is_empty()).then(|| texts.join("\n")));
    Answer {
        status: if failed {
            OutcomeStatus::Failed
        } else {
            OutcomeStatus::Success
        },
        error: failed.then(|| {
            summary
                .clone()
                .unwrap_or_else(|| "the tool reported an error".into())
        }),
        summary,
        request_id: structured.as_ref().and_then(|s| {
            s.get("meta")
                .and_then(|m| m.get("requestId"))
                .or_else(|| s.get("requestId"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        tool: Some(tool.to_owned()),
        execution_time: structured
            .as_ref()
            .and_then(|s| s.get("executionTime").cloned()),
    }
}
