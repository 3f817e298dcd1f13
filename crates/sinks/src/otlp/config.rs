//! [`OtlpSinkConfig`]: `type: otlp` in a route's `sinks:`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::OtlpSink;
use crate::http::{TlsConfig, parse_url, validate_token_fields};
use crate::template::Template;

/// The path OTLP/HTTP puts logs under.
const LOGS_PATH: &str = "/v1/logs";

/// Config of the OTLP sink.
///
/// ```
/// use kev_sinks::otlp::OtlpSinkConfig;
/// let c: OtlpSinkConfig = serde_norway::from_str("endpoint: http://otel-collector:4318\n").unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.logs_url().unwrap().as_str(), "http://otel-collector:4318/v1/logs");
/// let bad: OtlpSinkConfig = serde_norway::from_str("endpoint: http://c:4318\nresource_attributes: {k8s.cluster.name: x}\n").unwrap();
/// assert!(bad.validate().unwrap_err().to_string().starts_with("resource_attributes.k8s.cluster.name: "));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpSinkConfig {
    /// The collector's OTLP/HTTP address: a base (`http://collector:4318`, to which
    /// `/v1/logs` is added) or the full logs URL (a path other than `/`, kept as is).
    pub endpoint: String,
    /// Extra request headers (a backend's tenant or dataset header). `Authorization`
    /// comes from `token_file` / `token_env`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// File holding a bearer token, read again per batch.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Extra resource attributes on every record (`deployment.environment: prod`).
    /// `k8s.cluster.name` and the `k8s.object.*` / `k8s.node.name` ones are kev's.
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, String>,
    /// A template for the log body instead of the event's message (`kev_sinks::template`).
    #[serde(default)]
    pub body_template: Option<String>,
    /// TLS settings for `https://` endpoints.
    #[serde(default)]
    pub tls: TlsConfig,
    /// Time allowed for a whole request; default `10s`.
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
    /// Name in logs and in the `sink` metric label; default `otlp`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Resource attribute names kev sets itself.
fn is_kevs(name: &str) -> bool {
    name == "k8s.cluster.name" || name == "k8s.node.name" || name.starts_with("k8s.object.")
}

impl OtlpSinkConfig {
    /// A config for `endpoint` with every other field at its default.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            headers: BTreeMap::new(),
            token_file: None,
            token_env: None,
            resource_attributes: BTreeMap::new(),
            body_template: None,
            tls: TlsConfig::default(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            token: None,
        }
    }

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL the records are POSTed to.
    pub fn logs_url(&self) -> Result<reqwest::Url, ConfigError> {
        let mut url = parse_url("endpoint", &self.endpoint, "token_file or token_env")?;
        if url.path().is_empty() || url.path() == "/" {
            url.set_path(LOGS_PATH);
        }
        Ok(url)
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
                    "credentials are not accepted in clear in the config: use token_file or token_env",
                ));
            }
            if header == reqwest::header::CONTENT_TYPE {
                return Err(ConfigError::new(path, "kev sets this header itself"));
            }
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| ConfigError::new(&path, "not a valid header value"))?;
            value.set_sensitive(true);
            map.insert(header, value);
        }
        Ok(map)
    }

    pub(super) fn compiled_template(&self) -> Result<Option<Template>, ConfigError> {
        self.body_template
            .as_deref()
            .map(|source| Template::compile("body_template", source))
            .transpose()
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.logs_url()?;
        self.parsed_headers()?;
        self.compiled_template()?;
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            None,
        )?;
        for name in self.resource_attributes.keys() {
            let path = format!("resource_attributes.{name}");
            if name.is_empty() {
                return Err(ConfigError::new(
                    path,
                    "an attribute name must not be empty",
                ));
            }
            if is_kevs(name) {
                return Err(ConfigError::new(
                    path,
                    "kev sets this attribute from the event",
                ));
            }
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

    /// Validates, reads the credentials and certificates, and builds the HTTP client.
    pub fn build(&self) -> Result<OtlpSink, ConfigError> {
        self.validate()?;
        OtlpSink::new(self)
    }
}
