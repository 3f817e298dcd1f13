//! [`WebhookSink`]: sends a batch as one request or one request per event, and turns
//! the answer into an acknowledgement or a classified error.

use std::time::Duration;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};

use super::config::{HttpMethod, WebhookSinkConfig};
use super::encoder::{Item, body, key_header};
use crate::http::{
    Auth, ClientOptions, LoadedAuth, SecretSource, classify_status, one_line, retry_after, send,
};
use crate::kee::EventFormat;
use crate::template::Template;

/// How much of an error answer's body is read for the error (four bytes a character at
/// the most).
const ERROR_BODY_BYTES: usize = crate::http::ERROR_BODY_CHARS * 4;
/// How much of a 2xx answer's body is read (so the connection can be reused).
const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// Delivers events over HTTP(S).
///
/// `deliver` returns `Ok` once every request of the batch was answered 2xx. With one
/// request per event, a failure reports how many events were acknowledged before it
/// ([`SinkError::delivered`]) so that the route does not send them again.
///
/// ```
/// let sink = kev_sinks::webhook::WebhookSinkConfig::new("http://127.0.0.1:9/hook").build().unwrap();
/// assert_eq!(kev_core::Sink::name(&sink), "webhook");
/// ```
pub struct WebhookSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    method: Method,
    batch: bool,
    headers: HeaderMap,
    template: Option<Template>,
    format: EventFormat,
    content_type: HeaderValue,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("batch", &self.batch)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Builds the sink from a config that passed [`WebhookSinkConfig::validate`].
    pub(super) fn new(config: &WebhookSinkConfig) -> Result<Self, ConfigError> {
        let auth = match (&config.basic_auth, &config.bearer_token) {
            (Some(basic), None) => {
                let password = SecretSource::from_file_or_env(
                    basic.password_file.as_deref(),
                    basic.password_env.as_deref(),
                    ["basic_auth.password_file", "basic_auth.password_env"],
                )?
                .ok_or_else(|| {
                    ConfigError::new(
                        "basic_auth.password_file",
                        "set exactly one of password_file and password_env",
                    )
                })?;
                Auth::Basic {
                    username: basic.username.clone(),
                    password,
                }
            }
            _ => Auth::bearer(
                config.bearer_token.as_ref(),
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
            name: config.name.clone().unwrap_or_else(|| "webhook".to_owned()),
            client,
            url: config.parsed_url()?,
            method: match config.method {
                HttpMethod::Post => Method::POST,
                HttpMethod::Put => Method::PUT,
            },
            batch: config.batch,
            headers: config.parsed_headers()?,
            template: config.compiled_template()?,
            format: config.format,
            content_type: config.parsed_content_type()?,
            auth,
            timeout: config.timeout,
        })
    }

    async fn send(&self, items: &[Item<'_>], auth: &LoadedAuth) -> Result<(), SinkError> {
        let request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, self.content_type.clone())
            .body(body(
                items,
                self.batch,
                self.format,
                self.template.as_ref(),
            )?);
        let events: Vec<&kev_core::Event> = items.iter().map(Item::event).collect();
        let mut response = send(request, auth, key_header(&events), self.timeout).await?;
        let status = response.status();
        if status.is_success() {
            // Read (a bounded part of) the answer so the connection goes back to the
            // pool; the receiver has accepted already, so a failure here changes nothing.
            let mut read = 0;
            while read < MAX_DRAIN_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            return Ok(());
        }
        let retry_after = retry_after(response.headers());
        let text = auth.redact(&error_body(&mut response).await);
        Err(classify_status(status, retry_after.as_deref(), &text))
    }
}

/// The start of an error answer's body, on one line.
async fn error_body(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    one_line(&String::from_utf8_lossy(&bytes))
}

impl WebhookSink {
    /// One request for the batch, or one per event, in order.
    async fn deliver_items(&self, items: &[Item<'_>]) -> Result<(), SinkError> {
        if items.is_empty() {
            return Ok(());
        }
        let auth = self.auth.load()?;
        if self.batch {
            return self.send(items, &auth).await;
        }
        for (done, one) in items.chunks(1).enumerate() {
            self.send(one, &auth)
                .await
                .map_err(|e| e.with_delivered(done))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// With an enricher, each event goes with a `context` member holding what the route
    /// gathered.
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let items: Vec<Item<'_>> = batch
            .iter()
            .map(|(stored, context)| Item::new(stored, context))
            .collect();
        self.deliver_items(&items).await
    }
}
