//! [`KeyedHttp`]: the reqwest client rmcp sends MCP messages with, plus an
//! `Idempotency-Key` header on each `tools/call` that carries kev's idempotency key in
//! its `_meta` — the header the REST mode sends, for gateways and servers that drop
//! repeats by it. rmcp fixes a session's headers when it opens it; this client adds the
//! per-call one.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

use crate::http::IDEMPOTENCY_KEY;

/// The `_meta` key of a `tools/call` that carries the event's idempotency key, so that
/// the server can drop the repeat of a call (at-least-once delivery); this client also
/// sends it as the header.
pub const IDEMPOTENCY_META_KEY: &str = "dev.kev/idempotencyKey";

#[derive(Debug, Clone)]
pub(super) struct KeyedHttp(pub reqwest_mcp::Client);

type Headers = HashMap<HeaderName, HeaderValue>;
type PostResult = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest_mcp::Error>>;

/// `headers`, with the `Idempotency-Key` of `message` when it is a `tools/call` that
/// carries one in `_meta`. Read from the message as it goes on the wire.
fn with_key(message: &ClientJsonRpcMessage, mut headers: Headers) -> Headers {
    let JsonRpcMessage::Request(request) = message else {
        return headers;
    };
    let Ok(wire) = serde_json::to_value(request) else {
        return headers;
    };
    let key = wire
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(IDEMPOTENCY_META_KEY))
        .and_then(|k| k.as_str())
        .and_then(|k| HeaderValue::from_str(k).ok());
    if wire.get("method").and_then(|m| m.as_str()) == Some("tools/call")
        && let Some(key) = key
    {
        headers.insert(IDEMPOTENCY_KEY, key);
    }
    headers
}

impl StreamableHttpClient for KeyedHttp {
    type Error = reqwest_mcp::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: Headers,
    ) -> PostResult {
        let headers = with_key(&message, custom_headers);
        self.0
            .post_message(uri, message, session_id, auth_header, headers)
            .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: Headers,
        max_sse_event_size: usize,
    ) -> PostResult {
        let headers = with_key(&message, custom_headers);
        self.0
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                max_sse_event_size,
            )
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: Headers,
        limits: StreamableHttpResponseLimits,
    ) -> PostResult {
        let headers = with_key(&message, custom_headers);
        self.0
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: Headers,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.0
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: Headers,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.0
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: Headers,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.0
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}
