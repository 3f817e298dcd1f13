//! [`LokiSink`]: one push request per batch, and Loki's answer turned into an
//! acknowledgement or a classified error.

use std::time::Duration;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use prost::Message;
use reqwest::Url;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};

use super::config::{LokiEncoding, LokiLabel, LokiSinkConfig};
use super::encoder::{Labels, json_body, push_request};
use crate::http::{Auth, ClientOptions, classify_status, one_line, retry_after, send};
use crate::template::Template;

/// How much of an error answer is read (Loki's message names the stream and entry).
const ERROR_BODY_BYTES: usize = crate::http::ERROR_BODY_CHARS * 4;

/// Delivers events to Loki's push API.
///
/// 429 and 5xx (with `Retry-After`), timeouts and connection failures are retryable;
/// a 400 (an entry out of order or too old, a bad label) is permanent with Loki's
/// message: the route then pushes the batch's events one by one and dead-letters the
/// refused ones. Pushing an entry again is harmless: Loki drops an entry equal to one
/// it has (same stream, timestamp and line).
pub struct LokiSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    encoding: LokiEncoding,
    labels: Vec<LokiLabel>,
    static_labels: Vec<(String, String)>,
    template: Option<Template>,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for LokiSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LokiSink")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("encoding", &self.encoding)
            .field("labels", &self.labels)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl LokiSink {
    /// Builds the sink from a config that passed [`LokiSinkConfig::validate`].
    pub(super) fn new(config: &LokiSinkConfig) -> Result<Self, ConfigError> {
        let client = ClientOptions {
            timeout: Some(config.timeout),
            connect_timeout: config.connect_timeout,
            tls: &config.tls,
        }
        .build()?;
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "loki".to_owned()),
            client,
            url: config.push_url()?,
            headers: config.parsed_headers()?,
            encoding: config.encoding,
            labels: config.labels.clone(),
            static_labels: config
                .static_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            template: config.compiled_template()?,
            auth: Auth::bearer(
                None,
                config.token_file.as_deref(),
                config.token_env.as_deref(),
            )?,
            timeout: config.timeout,
        })
    }

    /// The body and its content headers.
    fn body(&self, batch: Batch<'_>) -> Result<(Vec<u8>, HeaderMap), SinkError> {
        let items: Vec<_> = batch.iter().collect();
        let labels = Labels {
            fields: &self.labels,
            fixed: &self.static_labels,
        };
        let (request, pairs) = push_request(&items, &labels, self.template.as_ref())?;
        let mut headers = HeaderMap::new();
        let body = match self.encoding {
            LokiEncoding::Protobuf => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                );
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
                snap::raw::Encoder::new()
                    .compress_vec(&request.encode_to_vec())
                    .map_err(|e| {
                        SinkError::permanent(format!("cannot compress the push body: {e}"))
                    })?
            }
            LokiEncoding::Json => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                json_body(&request, &pairs)?
            }
        };
        Ok((body, headers))
    }
}

#[async_trait]
impl Sink for LokiSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (body, content) = self.body(batch)?;
        let auth = self.auth.load()?;
        let request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .headers(content)
            .body(body);
        let mut response = send(request, &auth, None, self.timeout).await?;
        let status = response.status();
        let after = retry_after(response.headers());
        let mut bytes = Vec::new();
        while bytes.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            return Ok(());
        }
        let text = auth.redact(&one_line(&String::from_utf8_lossy(&bytes)));
        Err(classify_status(status, after.as_deref(), &text))
    }
}
