//! [`OtlpSink`]: one protobuf `ExportLogsServiceRequest` per batch, and the answer
//! turned into an acknowledgement or a classified error.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::config::OtlpSinkConfig;
use super::encoder::export_request;
use crate::http::{
    Auth, ClientOptions, ERROR_BODY_CHARS, classify_status, one_line, retry_after, send,
};
use crate::template::Template;

const PROTOBUF: &str = "application/x-protobuf";
/// The most of an answer's body read: a response message, or an error's `Status`.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer (its `details` are not
/// read).
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Delivers events as OTLP log records over HTTP/protobuf.
///
/// `deliver` returns `Ok` once the receiver answered 2xx. 429 and 5xx (with
/// `Retry-After`), timeouts and connection failures are retryable; other statuses are
/// permanent. A partial success with rejected records is permanent: the route then
/// sends the batch's events one by one, so exactly the rejected ones are dead-lettered
/// (at least once: the accepted ones of that request are sent again).
pub struct OtlpSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    resource_attributes: BTreeMap<String, String>,
    template: Option<Template>,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// Builds the sink from a config that passed [`OtlpSinkConfig::validate`].
    pub(super) fn new(config: &OtlpSinkConfig) -> Result<Self, ConfigError> {
        let client = ClientOptions {
            timeout: Some(config.timeout),
            connect_timeout: config.connect_timeout,
            tls: &config.tls,
        }
        .build()?;
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "otlp".to_owned()),
            client,
            url: config.logs_url()?,
            headers: config.parsed_headers()?,
            resource_attributes: config.resource_attributes.clone(),
            template: config.compiled_template()?,
            auth: Auth::bearer(
                None,
                config.token_file.as_deref(),
                config.token_env.as_deref(),
            )?,
            timeout: config.timeout,
        })
    }
}

/// Up to `MAX_ANSWER_BYTES` of an answer's body.
async fn answer_body(response: &mut reqwest::Response) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes
}

/// An error answer's message: the `Status` message when the body is one, else the text.
fn error_text(bytes: &[u8], protobuf: bool) -> String {
    if protobuf && let Ok(status) = Status::decode(bytes) {
        return one_line(&status.message);
    }
    one_line(&String::from_utf8_lossy(
        &bytes[..bytes.len().min(ERROR_BODY_CHARS * 4)],
    ))
}

#[async_trait]
impl Sink for OtlpSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let items: Vec<_> = batch.iter().collect();
        let body = export_request(&items, &self.resource_attributes, self.template.as_ref())?
            .encode_to_vec();
        let auth = self.auth.load()?;
        let request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))
            .body(body);
        let mut response = send(request, &auth, None, self.timeout).await?;
        let status = response.status();
        let protobuf = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(PROTOBUF.as_bytes()));
        let after = retry_after(response.headers());
        let bytes = answer_body(&mut response).await;
        if !status.is_success() {
            let text = auth.redact(&error_text(&bytes, protobuf));
            return Err(classify_status(status, after.as_deref(), &text));
        }
        // An empty or non-protobuf 2xx body is a full success.
        let Some(partial) = protobuf
            .then(|| ExportLogsServiceResponse::decode(bytes.as_slice()).ok())
            .flatten()
            .and_then(|r| r.partial_success)
        else {
            return Ok(());
        };
        let rejected = partial.rejected_log_records;
        let message = one_line(&partial.error_message);
        if rejected > 0 {
            // OTLP does not say which records; as a permanent failure the route sends
            // the events again one by one, so exactly the rejected ones are
            // dead-lettered (the others arrive twice, with the same `kev.event.key`).
            return Err(SinkError::permanent(format!(
                "the OTLP receiver rejected {rejected} of {} records: {message}",
                batch.len()
            )));
        }
        if !message.is_empty() {
            tracing::warn!(sink = %self.name, %message, "OTLP receiver warning");
        }
        Ok(())
    }
}
