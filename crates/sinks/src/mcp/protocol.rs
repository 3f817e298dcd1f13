//! MCP protocol mode: an MCP client over Streamable HTTP (the official `rmcp` SDK) that
//! initializes a session and calls the configured tool with the arguments.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kev_core::SinkError;
use kev_core::config::ConfigError;
use reqwest_mcp::header::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ErrorCode, ErrorData,
    Implementation, InitializeRequestParams,
};
use rmcp::service::{ClientInitializeError, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value};

use super::outcome::{Answer, OutcomeStatus, first_text};
use super::rest::read_answer_value;
use super::secret::Token;

/// Calls one tool of one MCP server; a session per call, closed after it.
#[derive(Debug, Clone)]
pub(super) struct McpClient {
    http: reqwest_mcp::Client,
    endpoint: Arc<str>,
    tool: String,
    timeout: Duration,
}

impl McpClient {
    pub fn new(
        endpoint: &str,
        tool: &str,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        // ring, as in the rest of kev: no second crypto library to build.
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("endpoint", format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest_mcp::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(connect_timeout)
            .redirect(reqwest_mcp::redirect::Policy::none())
            .user_agent(concat!("kev/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new("endpoint", format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self {
            http,
            endpoint: endpoint.into(),
            tool: tool.to_owned(),
            timeout,
        })
    }

    /// `initialize`, `tools/call`, close; all within the timeout. `Err` is a failure
    /// to retry; a refusal is a [`OutcomeStatus::Rejected`] answer.
    pub async fn call(
        &self,
        args: Map<String, Value>,
        idempotency_key: &str,
        token: Option<&Token>,
    ) -> Result<Answer, SinkError> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(Arc::clone(&self.endpoint));
        // As in REST mode, so that a receiver can drop the repeat of a call.
        if let Ok(key) = HeaderValue::from_str(idempotency_key) {
            let headers = HashMap::from([(HeaderName::from_static("idempotency-key"), key)]);
            config = config.custom_headers(headers);
        }
        if let Some(token) = token {
            config = config.auth_header(token.0.clone());
        }
        let transport = StreamableHttpClientTransport::with_client(self.http.clone(), config);
        let info = InitializeRequestParams::new(
            ClientCapabilities::default(),
            Implementation::new("kev", env!("CARGO_PKG_VERSION")),
        );
        let session = async {
            let client = info.serve(transport).await.map_err(initialize_error)?;
            let params = CallToolRequestParams::new(self.tool.clone()).with_arguments(args);
            let result = client.call_tool(params).await;
            // Closing is best effort: the answer is in hand.
            let _ = client.cancel().await;
            match result {
                Ok(result) => Ok(read_result(&self.tool, result)),
                Err(e) => call_error(e),
            }
        };
        match tokio::time::timeout(self.timeout, session).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SinkError::retryable(format!(
                "no answer from the MCP server within {:?}",
                self.timeout
            ))),
        }
    }
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
    SinkError::retryable(format!("MCP initialize failed: {}", chain(&error)))
}

fn call_error(error: ServiceError) -> Result<Answer, SinkError> {
    match &error {
        ServiceError::McpError(data) if refused(data) => Ok(rejected(data)),
        ServiceError::UnexpectedResponse | ServiceError::InputRequiredRoundsExceeded { .. } => {
            Err(SinkError::permanent(format!("MCP tools/call: {error}")))
        }
        _ => Err(SinkError::retryable(format!(
            "MCP tools/call failed: {}",
            chain(&error)
        ))),
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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
