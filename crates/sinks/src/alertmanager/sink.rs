//! [`AlertmanagerSink`]: one `POST /api/v2/alerts` per batch, and Alertmanager's answer
//! turned into an acknowledgement or a classified error.

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use reqwest::Url;
use reqwest::header::HeaderMap;

use super::config::AlertmanagerSinkConfig;
use super::encoder::{Encoder, recovery_table};
use crate::http::{Auth, ClientOptions, answer, send};

/// Delivers events to Alertmanager as alerts.
///
/// Posting an alert again is harmless: Alertmanager keys alerts by their labels and
/// merges a repeat into the one it has, so a retried batch makes no second alert.
/// 5xx, 429, timeouts and connection failures are retryable; a 400 (an alert
/// Alertmanager refuses) is permanent with its message: the route then posts the
/// batch's events one by one and dead-letters the refused ones.
pub struct AlertmanagerSink {
    name: String,
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    encoder: Encoder,
    auth: Auth,
    timeout: Duration,
}

impl std::fmt::Debug for AlertmanagerSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertmanagerSink")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("labels", &self.encoder.labels)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl AlertmanagerSink {
    /// Builds the sink from a config that passed [`AlertmanagerSinkConfig::validate`].
    pub(super) fn new(config: &AlertmanagerSinkConfig) -> Result<Self, ConfigError> {
        let client = ClientOptions {
            timeout: Some(config.timeout),
            connect_timeout: config.connect_timeout,
            tls: &config.tls,
        }
        .build()?;
        let resolve_timeout = SignedDuration::try_from(config.resolve_timeout)
            .map_err(|_| ConfigError::new("resolve_timeout", "too long"))?;
        Ok(Self {
            name: config
                .name
                .clone()
                .unwrap_or_else(|| "alertmanager".to_owned()),
            client,
            url: config.alerts_url()?,
            headers: config.parsed_headers()?,
            encoder: Encoder {
                labels: config.labels.clone(),
                static_labels: config
                    .static_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                annotations: config.compiled_annotations()?,
                resolve_timeout,
                recovery: if config.resolve_on_recovery {
                    recovery_table()
                } else {
                    Default::default()
                },
                ui: config.parsed_ui_url()?,
            },
            auth: Auth::bearer(
                None,
                config.token_file.as_deref(),
                config.token_env.as_deref(),
            )?,
            timeout: config.timeout,
        })
    }
}

#[async_trait]
impl Sink for AlertmanagerSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let alerts = self.encoder.alerts(batch, Timestamp::now())?;
        if alerts.is_empty() {
            return Ok(());
        }
        let auth = self.auth.load()?;
        let request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .json(&alerts.into_vec());
        let response = send(request, &auth, None, self.timeout).await?;
        answer(response, &auth).await.map(drop)
    }
}
