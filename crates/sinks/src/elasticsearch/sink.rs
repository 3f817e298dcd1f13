//! [`ElasticsearchSink`]: one bulk request per batch, its answer read per item.

use std::time::Duration;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::config::{ElasticsearchSinkConfig, Flavor, Target};
use super::document::append;
use super::results::BulkResponse;
use crate::http::{
    Auth, ClientOptions, SecretSource, classify_status, one_line, retry_after, send,
};

/// The most of an answer read: a bulk answer is about 200 bytes an item.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Delivers events with the bulk API.
///
/// A whole request answered 429 or 5xx (with `Retry-After`), a timeout or a refused
/// connection is retryable. Otherwise each item counts: the route is told how many
/// leading items were written ([`SinkError::delivered`]); the first failed item is
/// retried when its status is 429 or 5xx and refused for good otherwise (a mapping
/// error), which makes the route send the rest one by one and dead-letter exactly the
/// refused documents with their error. Sending a document again writes the same `_id`.
pub struct ElasticsearchSink {
    name: String,
    flavor: Flavor,
    client: reqwest::Client,
    url: Url,
    target: Target,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for ElasticsearchSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticsearchSink")
            .field("name", &self.name)
            .field("flavor", &self.flavor)
            .field("target", &self.target)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ElasticsearchSink {
    /// Builds the sink from a config that passed [`ElasticsearchSinkConfig::validate`].
    pub(super) fn new(config: &ElasticsearchSinkConfig) -> Result<Self, ConfigError> {
        let auth = match &config.basic_auth {
            Some(basic) => Auth::Basic {
                username: basic.username.clone(),
                password: SecretSource::from_file_or_env(
                    basic.password_file.as_deref(),
                    basic.password_env.as_deref(),
                    ["basic_auth.password_file", "basic_auth.password_env"],
                )?
                .ok_or_else(|| {
                    ConfigError::new(
                        "basic_auth.password_file",
                        "set exactly one of password_file and password_env",
                    )
                })?,
            },
            None => Auth::bearer(
                None,
                config.token_file.as_deref(),
                config.token_env.as_deref(),
            )?,
        };
        let client = ClientOptions {
            timeout: Some(config.timeout),
            connect_timeout: config.connect_timeout,
            tls: &config.tls,
        }
        .build()?;
        Ok(Self {
            name: config
                .name
                .clone()
                .unwrap_or_else(|| "elasticsearch".to_owned()),
            flavor: config.flavor,
            client,
            url: config.bulk_url()?,
            target: config.target()?,
            auth,
            timeout: config.timeout,
        })
    }
}

#[async_trait]
impl Sink for ElasticsearchSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(batch.len() * 1024);
        for stored in batch.events() {
            append(&mut body, &self.target, &stored.event)?;
        }
        let auth = self.auth.load()?;
        let request = self
            .client
            .post(self.url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )
            .body(body);
        let mut response = send(request, &auth, None, self.timeout).await?;
        let status = response.status();
        let after = retry_after(response.headers());
        let mut bytes = Vec::new();
        while bytes.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(SinkError::retryable(format!(
                        "the bulk answer broke off: {}",
                        crate::http::error_chain(&e.without_url())
                    )));
                }
            }
        }
        let server = self.flavor.name();
        if !status.is_success() {
            let text = auth.redact(&one_line(&String::from_utf8_lossy(&bytes)));
            return Err(classify_status(status, after.as_deref(), &text));
        }
        let answer: BulkResponse = serde_json::from_slice(&bytes).map_err(|e| {
            SinkError::retryable(format!(
                "{server} answered a bulk response kev cannot read: {e}"
            ))
        })?;
        answer.outcome(batch.len(), server)
    }
}
