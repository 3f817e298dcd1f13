//! [`LokiSinkConfig`]: `type: loki` in a route's `sinks:`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kev_core::Event;
use kev_core::config::ConfigError;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::LokiSink;
use crate::http::{TlsConfig, parse_url, validate_token_fields};
use crate::label_name::is_label_name;
use crate::template::Template;

const PUSH_PATH: &str = "/loki/api/v1/push";
/// The most stream labels (event fields and `static_labels` together): each label
/// multiplies the streams Loki keeps.
pub const MAX_LABELS: usize = 8;

/// An event field that may be a stream label; each has few values in a cluster (never
/// an object's or an event's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LokiLabel {
    Cluster,
    Namespace,
    Type,
    Kind,
    Reason,
    ReportingController,
    SourceHost,
}

impl LokiLabel {
    /// The label's name in Loki.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Namespace => "namespace",
            Self::Type => "type",
            Self::Kind => "kind",
            Self::Reason => "reason",
            Self::ReportingController => "reporting_controller",
            Self::SourceHost => "source_host",
        }
    }

    /// Its value for `event`.
    pub fn value(self, event: &Event) -> &str {
        match self {
            Self::Cluster => &event.cluster,
            Self::Namespace => &event.namespace,
            Self::Type => event.r#type.as_str(),
            Self::Kind => &event.regarding.kind,
            Self::Reason => &event.reason,
            Self::ReportingController => &event.reporting_controller,
            Self::SourceHost => &event.source_host,
        }
    }
}

/// How the push body is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LokiEncoding {
    /// `application/x-protobuf`, snappy-compressed (what Promtail and Alloy send).
    #[default]
    Protobuf,
    /// `application/json`.
    Json,
}

/// Config of the Loki sink.
///
/// ```
/// use kev_sinks::loki::LokiSinkConfig;
/// let c: LokiSinkConfig = serde_norway::from_str("url: http://loki:3100\ntenant: team-a\n").unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.push_url().unwrap().as_str(), "http://loki:3100/loki/api/v1/push");
/// let bad = serde_norway::from_str::<LokiSinkConfig>("url: http://loki:3100\nlabels: [name]\n");
/// assert!(bad.unwrap_err().to_string().contains("unknown variant `name`"));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiSinkConfig {
    /// Loki's address (`http://loki:3100`, to which `/loki/api/v1/push` is added) or the
    /// full push URL.
    pub url: String,
    /// The tenant (`X-Scope-OrgID`) for a multi-tenant Loki.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Event fields that make the stream labels; default cluster, namespace, type, kind.
    #[serde(default = "default_labels")]
    pub labels: Vec<LokiLabel>,
    /// Fixed labels on every stream (`job: kev`).
    #[serde(default)]
    pub static_labels: BTreeMap<String, String>,
    /// `protobuf` (default, snappy) or `json`.
    #[serde(default)]
    pub encoding: LokiEncoding,
    /// A template for the line instead of the Event JSON.
    #[serde(default)]
    pub line_template: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// File holding a bearer token, read again per batch.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
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
    /// Name in logs and in the `sink` metric label; default `loki`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
}

fn default_labels() -> Vec<LokiLabel> {
    vec![
        LokiLabel::Cluster,
        LokiLabel::Namespace,
        LokiLabel::Type,
        LokiLabel::Kind,
    ]
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

impl LokiSinkConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tenant: None,
            labels: default_labels(),
            static_labels: BTreeMap::new(),
            encoding: LokiEncoding::default(),
            line_template: None,
            headers: BTreeMap::new(),
            token_file: None,
            token_env: None,
            tls: TlsConfig::default(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            token: None,
        }
    }

    /// JSON bodies instead of protobuf.
    #[must_use]
    pub fn encoding(mut self, encoding: LokiEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The push URL.
    pub fn push_url(&self) -> Result<reqwest::Url, ConfigError> {
        let mut url = parse_url("url", &self.url, "token_file or token_env")?;
        if url.path().is_empty() || url.path() == "/" {
            url.set_path(PUSH_PATH);
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
            if header == reqwest::header::CONTENT_TYPE
                || header == reqwest::header::CONTENT_ENCODING
                || name.eq_ignore_ascii_case("x-scope-orgid")
            {
                return Err(ConfigError::new(
                    path,
                    "kev sets this header itself (the tenant: `tenant`)",
                ));
            }
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| ConfigError::new(&path, "not a valid header value"))?;
            value.set_sensitive(true);
            map.insert(header, value);
        }
        if let Some(tenant) = &self.tenant {
            let value = HeaderValue::from_str(tenant)
                .ok()
                .filter(|_| !tenant.is_empty())
                .ok_or_else(|| ConfigError::new("tenant", "not a valid header value"))?;
            map.insert(HeaderName::from_static("x-scope-orgid"), value);
        }
        Ok(map)
    }

    pub(super) fn compiled_template(&self) -> Result<Option<Template>, ConfigError> {
        self.line_template
            .as_deref()
            .map(|source| Template::compile("line_template", source))
            .transpose()
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.push_url()?;
        self.parsed_headers()?;
        self.compiled_template()?;
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            None,
        )?;
        if self.labels.is_empty() && self.static_labels.is_empty() {
            return Err(ConfigError::new(
                "labels",
                "Loki needs at least one stream label",
            ));
        }
        for (i, label) in self.labels.iter().enumerate() {
            if self.labels[..i].contains(label) {
                return Err(ConfigError::new(
                    format!("labels[{i}]"),
                    format!("{} is listed twice", label.name()),
                ));
            }
        }
        for name in self.static_labels.keys() {
            let path = format!("static_labels.{name}");
            if !is_label_name(name) {
                return Err(ConfigError::new(
                    path,
                    "not a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                ));
            }
            if self.labels.iter().any(|l| l.name() == name) {
                return Err(ConfigError::new(path, "also an event label in `labels`"));
            }
        }
        let count = self.labels.len() + self.static_labels.len();
        if count > MAX_LABELS {
            return Err(ConfigError::new(
                "labels",
                format!(
                    "{count} stream labels, at most {MAX_LABELS}: put the rest in the line or structured metadata"
                ),
            ));
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
    pub fn build(&self) -> Result<LokiSink, ConfigError> {
        self.validate()?;
        LokiSink::new(self)
    }
}
