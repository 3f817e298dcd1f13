//! [`AlertmanagerSinkConfig`]: `type: alertmanager` in a route's `sinks:`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use kev_core::{Event, EventType};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::AlertmanagerSink;
use crate::http::{TlsConfig, extra_headers, parse_url, validate_token_fields};
use crate::label_name::is_label_name;
use crate::template::Template;

const ALERTS_PATH: &str = "/api/v2/alerts";
/// The most labels on an alert (event fields and `static_labels` together): each one
/// splits Alertmanager's groups and silences further.
pub const MAX_LABELS: usize = 10;
/// The most annotations; each is a template rendered per event.
const MAX_ANNOTATIONS: usize = 8;

/// An event field that may be an alert label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLabel {
    /// The event's reason (`BackOff`).
    Alertname,
    Namespace,
    /// The regarding object's kind.
    Kind,
    /// The regarding object's name.
    Name,
    Cluster,
    /// `warning` for a Warning event, `info` for a Normal one.
    Severity,
    ReportingController,
    SourceHost,
}

impl AlertLabel {
    /// The label's name in Alertmanager.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alertname => "alertname",
            Self::Namespace => "namespace",
            Self::Kind => "kind",
            Self::Name => "name",
            Self::Cluster => "cluster",
            Self::Severity => "severity",
            Self::ReportingController => "reporting_controller",
            Self::SourceHost => "source_host",
        }
    }

    /// Its value for `event`; `reason` and `severity` are given, since a resolving
    /// alert carries the failure's, not the recovery event's.
    pub(super) fn value<'a>(self, event: &'a Event, reason: &'a str, severity: &'a str) -> &'a str {
        match self {
            Self::Alertname => reason,
            Self::Namespace => &event.namespace,
            Self::Kind => &event.regarding.kind,
            Self::Name => &event.regarding.name,
            Self::Cluster => &event.cluster,
            Self::Severity => severity,
            Self::ReportingController => &event.reporting_controller,
            Self::SourceHost => &event.source_host,
        }
    }
}

/// The `severity` label of an event of type `kind`.
pub(super) fn severity(kind: &EventType) -> String {
    match kind {
        EventType::Warning => "warning".to_owned(),
        EventType::Normal => "info".to_owned(),
        other => other.as_str().to_ascii_lowercase(),
    }
}

/// Config of the Alertmanager sink.
///
/// ```
/// use kev_sinks::alertmanager::AlertmanagerSinkConfig;
/// let c: AlertmanagerSinkConfig = serde_norway::from_str("url: http://alertmanager:9093\n").unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.alerts_url().unwrap().as_str(), "http://alertmanager:9093/api/v2/alerts");
/// let bad: AlertmanagerSinkConfig = serde_norway::from_str("url: http://am:9093\nlabels: [namespace]\n").unwrap();
/// assert!(bad.validate().unwrap_err().to_string().starts_with("labels: "));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSinkConfig {
    /// Alertmanager's address (`http://alertmanager:9093`, to which `/api/v2/alerts` is
    /// added) or the full alerts URL.
    pub url: String,
    /// Event fields that make the alert's labels; default alertname, namespace, kind,
    /// name, cluster, severity. `alertname` is required.
    #[serde(default = "default_labels")]
    pub labels: Vec<AlertLabel>,
    /// Fixed labels on every alert (`team: sre`).
    #[serde(default)]
    pub static_labels: BTreeMap<String, String>,
    /// Annotation name → template; default `summary` and `description`.
    #[serde(default = "default_annotations")]
    pub annotations: BTreeMap<String, String>,
    /// An alert not seen again (and not resolved by a recovery event) for this long
    /// resolves: `endsAt` = the event's time + this; default `5m`.
    #[serde(
        default = "default_resolve_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub resolve_timeout: Duration,
    /// An event whose reason is a recovery of the condition table (`Started` after
    /// `BackOff`, `Pulled` after `ErrImagePull`) resolves the object's alerts for the
    /// failure reasons instead of raising one; default `true`.
    #[serde(default = "default_true")]
    pub resolve_on_recovery: bool,
    /// kev's UI (`https://kev.example.com`): the alerts' `generatorURL` links to the
    /// object's page there.
    #[serde(default)]
    pub ui_url: Option<String>,
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
    /// Name in logs and in the `sink` metric label; default `alertmanager`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
}

fn default_labels() -> Vec<AlertLabel> {
    vec![
        AlertLabel::Alertname,
        AlertLabel::Namespace,
        AlertLabel::Kind,
        AlertLabel::Name,
        AlertLabel::Cluster,
        AlertLabel::Severity,
    ]
}

fn default_annotations() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "summary".to_owned(),
            "{{ event.reason }} on {{ event.regarding.kind }} {% if event.namespace %}{{ event.namespace }}/{% endif %}{{ event.regarding.name }}".to_owned(),
        ),
        (
            "description".to_owned(),
            "{{ event.message }} (seen {{ event.count }} times)".to_owned(),
        ),
    ])
}

fn default_resolve_timeout() -> Duration {
    Duration::from_secs(300)
}

fn default_true() -> bool {
    true
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

impl AlertmanagerSinkConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            labels: default_labels(),
            static_labels: BTreeMap::new(),
            annotations: default_annotations(),
            resolve_timeout: default_resolve_timeout(),
            resolve_on_recovery: true,
            ui_url: None,
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

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Links to kev's UI at `url`.
    #[must_use]
    pub fn ui_url(mut self, url: impl Into<String>) -> Self {
        self.ui_url = Some(url.into());
        self
    }

    /// The URL the alerts are POSTed to.
    pub fn alerts_url(&self) -> Result<reqwest::Url, ConfigError> {
        let mut url = parse_url("url", &self.url, "token_file or token_env")?;
        if url.path().is_empty() || url.path() == "/" {
            url.set_path(ALERTS_PATH);
        }
        Ok(url)
    }

    pub(super) fn parsed_ui_url(&self) -> Result<Option<reqwest::Url>, ConfigError> {
        self.ui_url
            .as_deref()
            .map(|u| parse_url("ui_url", u, "a URL without credentials"))
            .transpose()
    }

    pub(super) fn parsed_headers(&self) -> Result<reqwest::header::HeaderMap, ConfigError> {
        extra_headers(&self.headers, &[CONTENT_TYPE], "token_file or token_env")
    }

    pub(super) fn compiled_annotations(&self) -> Result<Vec<(String, Template)>, ConfigError> {
        self.annotations
            .iter()
            .map(|(name, source)| {
                let path = format!("annotations.{name}");
                if !is_label_name(name) {
                    return Err(ConfigError::new(
                        path,
                        "not an annotation name ([a-zA-Z_][a-zA-Z0-9_]*)",
                    ));
                }
                Ok((name.clone(), Template::compile(&path, source)?))
            })
            .collect()
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.alerts_url()?;
        self.parsed_ui_url()?;
        self.parsed_headers()?;
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            None,
        )?;
        if !self.labels.contains(&AlertLabel::Alertname) {
            return Err(ConfigError::new(
                "labels",
                "must contain alertname: Alertmanager groups and routes alerts by it",
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
                    "not a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
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
                format!("{count} labels, at most {MAX_LABELS}: put the rest in annotations"),
            ));
        }
        if self.annotations.len() > MAX_ANNOTATIONS {
            return Err(ConfigError::new(
                "annotations",
                format!(
                    "{} annotations, at most {MAX_ANNOTATIONS}",
                    self.annotations.len()
                ),
            ));
        }
        self.compiled_annotations()?;
        if self.resolve_timeout.is_zero() {
            return Err(ConfigError::new("resolve_timeout", "must be more than 0"));
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
    pub fn build(&self) -> Result<AlertmanagerSink, ConfigError> {
        self.validate()?;
        AlertmanagerSink::new(self)
    }
}
