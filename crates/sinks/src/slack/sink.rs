//! [`SlackSink`]: one message per event through an incoming webhook or
//! `chat.postMessage`, and Slack's answer turned into an acknowledgement or a
//! classified error ([`classify_api_error`] for the Web API's `{"ok": false}`).

use std::time::Duration;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::enrich::EventContext;
use kev_core::{Batch, Event, Sink, SinkError};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::config::{Mode, SlackSinkConfig};
use super::encoder::default_message;
use crate::chat::{JsonTemplate, SecretUrl, post_each};
use crate::http::{Auth, ClientOptions, LoadedAuth, answer, send};

/// Where the messages go.
#[derive(Debug)]
enum Target {
    /// An incoming webhook; its URL is a credential.
    Webhook(SecretUrl),
    /// `chat.postMessage` on `url` with the bot token in `auth`.
    PostMessage { url: Url, channel: String },
}

/// Delivers events to Slack, one message per event, in order.
///
/// A 429 (with `Retry-After`), a 5xx, a timeout or a refused connection is retryable;
/// the route sends the events from the first one not posted. `chat.postMessage`
/// answers 200 with `{"ok": false, "error": …}` for its own failures: `ratelimited`
/// and Slack's internal errors are retried, the rest (`invalid_auth`,
/// `channel_not_found`, …) are permanent and dead-letter the event with Slack's error.
/// Slack has no idempotency key: a message whose answer was lost (a timeout after Slack
/// posted it) is posted again.
pub struct SlackSink {
    name: String,
    client: reqwest::Client,
    target: Target,
    template: Option<JsonTemplate>,
    ui: Option<Url>,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for SlackSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.target {
            Target::Webhook(_) => "webhook",
            Target::PostMessage { .. } => "chat.postMessage",
        };
        f.debug_struct("SlackSink")
            .field("name", &self.name)
            .field("mode", &mode)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// The Web API's answer.
#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
}

/// The error for a Web API answer `{"ok": false, "error": error}`: rate limits and
/// Slack's own failures are retryable, everything else (credentials, channel, payload)
/// is permanent.
///
/// ```
/// use kev_sinks::slack::classify_api_error;
/// assert!(classify_api_error("ratelimited").retryable);
/// assert!(!classify_api_error("channel_not_found").retryable);
/// assert_eq!(classify_api_error("invalid_auth").message, "Slack: invalid_auth");
/// ```
pub fn classify_api_error(error: &str) -> SinkError {
    let message = format!("Slack: {error}");
    match error {
        "ratelimited"
        | "rate_limited"
        | "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout" => SinkError::retryable(message),
        _ => SinkError::permanent(message),
    }
}

impl SlackSink {
    /// Builds the sink from a config that passed [`SlackSinkConfig::validate`].
    pub(super) fn new(config: &SlackSinkConfig) -> Result<Self, ConfigError> {
        let client = ClientOptions {
            timeout: Some(config.timeout),
            connect_timeout: config.connect_timeout,
            tls: &config.tls,
        }
        .build()?;
        let (target, auth) = match config.mode()? {
            Mode::Webhook => {
                let url = SecretUrl::new(
                    config.webhook_url_file.as_deref(),
                    config.webhook_url_env.as_deref(),
                    ["webhook_url_file", "webhook_url_env"],
                )?
                .ok_or_else(|| ConfigError::new("webhook_url_file", "not set"))?;
                (Target::Webhook(url), Auth::None)
            }
            Mode::PostMessage => (
                Target::PostMessage {
                    url: config.parsed_api_url()?,
                    channel: config.channel.clone().unwrap_or_default(),
                },
                Auth::bearer(
                    None,
                    config.token_file.as_deref(),
                    config.token_env.as_deref(),
                )?,
            ),
        };
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "slack".to_owned()),
            client,
            target,
            template: config.compiled_template()?,
            ui: config.parsed_ui_url()?,
            auth,
            timeout: config.timeout,
        })
    }

    fn message(&self, event: &Event, context: Option<&EventContext>) -> Result<Value, SinkError> {
        match &self.template {
            Some(template) => template.render(event, context),
            None => Ok(default_message(event, self.ui.as_ref())),
        }
    }

    async fn post(
        &self,
        url: &Url,
        mut message: Value,
        auth: &LoadedAuth,
    ) -> Result<(), SinkError> {
        if let (Target::PostMessage { channel, .. }, Value::Object(fields)) =
            (&self.target, &mut message)
        {
            fields.insert("channel".into(), Value::String(channel.clone()));
        }
        let request = self.client.post(url.clone()).json(&message);
        let response = send(request, auth, None, self.timeout).await?;
        let body = answer(response, auth).await?;
        if matches!(self.target, Target::Webhook(_)) {
            return Ok(());
        }
        let parsed: ApiAnswer = serde_json::from_slice(&body).map_err(|e| {
            SinkError::retryable(format!("Slack answered 200 without its JSON: {e}"))
        })?;
        if parsed.ok {
            return Ok(());
        }
        let error = parsed.error.unwrap_or_else(|| "unknown error".to_owned());
        Err(classify_api_error(&auth.redact(&error)))
    }
}

#[async_trait]
impl Sink for SlackSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let auth = self.auth.load()?;
        let url = match &self.target {
            Target::Webhook(secret) => secret.load()?,
            Target::PostMessage { url, .. } => url.clone(),
        };
        post_each(batch, |event, context| {
            let message = self.message(event, context);
            let (url, auth) = (&url, &auth);
            async move { self.post(url, message?, auth).await }
        })
        .await
    }
}
