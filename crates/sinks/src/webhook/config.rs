//! [`WebhookSinkConfig`]: `type: webhook` in a route's `sinks:`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::WebhookSink;
use crate::http::{
    IDEMPOTENCY_KEY, Secret, TlsConfig, parse_url, validate_env_name, validate_token_fields,
};
use crate::kee::EventFormat;
use crate::template::Template;

/// Config of the webhook sink. Secrets are never written in it: the token or the
/// password is read from a file or an environment variable.
///
/// ```
/// use kev_sinks::webhook::WebhookSinkConfig;
/// let yaml = "
/// url: https://hooks.example.com/kev
/// batch: true
/// token_file: /var/run/secrets/kev/hook-token
/// headers: {X-Team: sre}
/// timeout: 5s
/// ";
/// let c: WebhookSinkConfig = serde_norway::from_str(yaml).unwrap();
/// assert!(c.validate().is_ok());
/// let bad: WebhookSinkConfig = serde_norway::from_str("url: hooks.example.com/kev").unwrap();
/// assert_eq!(bad.validate().unwrap_err().to_string(), "url: relative URL without a base");
/// ```
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// `http://` or `https://` endpoint. Credentials in the URL are refused (use
    /// `basic_auth`); the URL is never logged, since some hooks carry a token in the path.
    pub url: String,
    /// `post` (default) or `put`.
    #[serde(default)]
    pub method: HttpMethod,
    /// `false` (default): one request per event, body = the Event JSON object.
    /// `true`: one request per route batch, body = a JSON array of events.
    #[serde(default)]
    pub batch: bool,
    /// A template for the body of each request (one per event; `batch` must be off),
    /// instead of the Event JSON: `event` and `context` are its data
    /// (`kev_sinks::template`).
    #[serde(default)]
    pub template: Option<String>,
    /// `kev` (default): kev's Event JSON. `kee`: kubernetes-event-exporter's default
    /// body (its `EnhancedEvent`), for receivers written for KEE; not with `template`.
    #[serde(default)]
    pub format: EventFormat,
    /// `Content-Type` of the body; default `application/json`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Extra request headers. `Authorization` and `Idempotency-Key` are kev's to set.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// File holding a bearer token (`Authorization: Bearer …`), read again per batch.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    /// HTTP basic auth; the password comes from a file or the environment.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthConfig>,
    /// TLS settings for `https://` URLs.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Time allowed for a whole request (connect, send, answer); default `10s`.
    #[serde(
        default = "default_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub timeout: Duration,
    /// Time allowed to connect; default `5s`.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub connect_timeout: Duration,
    /// Name in logs and in the `sink` metric label; default `webhook`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config. Accepted by the parser only to say so.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
    /// A bearer token known to the caller (kev reads an EventPolicy's `secretRef` through
    /// the API); never read from YAML. Set with [`WebhookSinkConfig::bearer_token`].
    #[serde(skip)]
    pub(super) bearer_token: Option<Secret>,
}

/// HTTP basic auth of the webhook sink.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    pub username: String,
    /// File holding the password, read again per batch.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password, read at start.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Refused: a password in clear in the config.
    #[serde(default)]
    password: Option<IgnoredAny>,
}

/// The HTTP method of the webhook sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Headers whose values may be credentials are listed by name only.
impl std::fmt::Debug for WebhookSinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSinkConfig")
            .field("url", &"<hidden>")
            .field("method", &self.method)
            .field("batch", &self.batch)
            .field("template", &self.template)
            .field("format", &self.format)
            .field("content_type", &self.content_type)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("token_file", &self.token_file)
            .field("token_env", &self.token_env)
            .field("basic_auth", &self.basic_auth)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("name", &self.name)
            .field("bearer_token", &self.bearer_token)
            .finish()
    }
}

impl std::fmt::Debug for BasicAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuthConfig")
            .field("username", &self.username)
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .finish()
    }
}

impl WebhookSinkConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            method: HttpMethod::Post,
            batch: false,
            template: None,
            format: EventFormat::Kev,
            content_type: None,
            headers: BTreeMap::new(),
            token_file: None,
            token_env: None,
            basic_auth: None,
            tls: TlsConfig::default(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            token: None,
            bearer_token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>`, a token the caller read (from a Kubernetes
    /// Secret through the API, say) instead of `token_file` / `token_env`.
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Secret::new(token));
        self
    }

    /// One request per route batch, as a JSON array (`batch: true`).
    #[must_use]
    pub fn batch(mut self, batch: bool) -> Self {
        self.batch = batch;
        self
    }

    /// The body of each request rendered from `template` (one request per event).
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// The body format of each event.
    #[must_use]
    pub fn format(mut self, format: EventFormat) -> Self {
        self.format = format;
        self
    }

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bearer token read from `path`.
    #[must_use]
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// TLS settings.
    #[must_use]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Name in logs and metrics.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The URL, parsed and checked.
    pub(super) fn parsed_url(&self) -> Result<reqwest::Url, ConfigError> {
        parse_url(
            "url",
            &self.url,
            "basic_auth with password_file or password_env",
        )
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_url()?;
        self.parsed_headers()?;
        self.compiled_template()?;
        self.parsed_content_type()?;
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            Some(self.basic_auth.is_some()),
        )?;
        if let Some(basic) = &self.basic_auth {
            basic.validate().map_err(|e| e.within("basic_auth"))?;
        }
        self.tls.validate().map_err(|e| e.within("tls"))?;
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be more than 0"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be more than 0"));
        }
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    pub(super) fn parsed_headers(&self) -> Result<reqwest::header::HeaderMap, ConfigError> {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let path = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::new(&path, "not a valid header name"))?;
            if header == reqwest::header::AUTHORIZATION {
                return Err(ConfigError::new(
                    path,
                    "credentials are not accepted in clear in the config: use token_file, token_env or basic_auth",
                ));
            }
            if header == IDEMPOTENCY_KEY {
                return Err(ConfigError::new(path, "kev sets this header itself"));
            }
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| ConfigError::new(&path, "not a valid header value"))?;
            value.set_sensitive(true);
            map.insert(header, value);
        }
        Ok(map)
    }

    /// The body template, compiled; with `batch: true` a template is refused.
    pub(super) fn compiled_template(&self) -> Result<Option<Template>, ConfigError> {
        let Some(source) = &self.template else {
            return Ok(None);
        };
        if self.batch {
            return Err(ConfigError::new(
                "template",
                "a template renders one request per event: set batch: false",
            ));
        }
        if self.format != EventFormat::Kev {
            return Err(ConfigError::new(
                "format",
                "a template is the whole body: leave format out with template",
            ));
        }
        Template::compile("template", source).map(Some)
    }

    pub(super) fn parsed_content_type(&self) -> Result<HeaderValue, ConfigError> {
        match &self.content_type {
            None => Ok(HeaderValue::from_static("application/json")),
            Some(v) => HeaderValue::from_str(v)
                .map_err(|_| ConfigError::new("content_type", "not a valid header value")),
        }
    }

    /// Validates, reads the credentials and certificates, and builds the HTTP client.
    pub fn build(&self) -> Result<WebhookSink, ConfigError> {
        self.validate()?;
        WebhookSink::new(self)
    }
}

impl BasicAuthConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.password.is_some() {
            return Err(ConfigError::new(
                "password",
                "a password is not accepted in clear in the config: use password_file or password_env",
            ));
        }
        if self.username.is_empty() || self.username.contains(':') {
            return Err(ConfigError::new(
                "username",
                "must be non-empty and without ':'",
            ));
        }
        match (&self.password_file, &self.password_env) {
            (Some(_), None) => Ok(()),
            (None, Some(var)) => validate_env_name(var, "password_env"),
            _ => Err(ConfigError::new(
                "password_file",
                "set exactly one of password_file and password_env",
            )),
        }
    }
}
