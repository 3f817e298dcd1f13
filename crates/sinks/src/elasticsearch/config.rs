//! [`ElasticsearchSinkConfig`]: `type: elasticsearch` in a route's `sinks:`.

use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::ElasticsearchSink;
use crate::http::{TlsConfig, parse_url, validate_env_name, validate_token_fields};

/// Which server: the bulk request is the same; the flavor names the index template to
/// install (deploy/elasticsearch/) and appears in errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    #[default]
    Elasticsearch,
    Opensearch,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Self::Elasticsearch => "Elasticsearch",
            Self::Opensearch => "OpenSearch",
        }
    }
}

/// HTTP basic auth; the password comes from a file or the environment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsBasicAuth {
    pub username: String,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
}

/// Config of the Elasticsearch / OpenSearch sink.
///
/// ```
/// use kev_sinks::elasticsearch::ElasticsearchSinkConfig;
/// let c: ElasticsearchSinkConfig = serde_norway::from_str("url: https://es:9200\nindex: kev-%Y.%m.%d\n").unwrap();
/// c.validate().unwrap();
/// let both: ElasticsearchSinkConfig = serde_norway::from_str("url: https://es:9200\nindex: a\ndata_stream: logs-kev-default\n").unwrap();
/// assert!(both.validate().unwrap_err().to_string().starts_with("data_stream: "));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchSinkConfig {
    /// The cluster's address (`https://es:9200`); `/_bulk` is added.
    pub url: String,
    /// `elasticsearch` (default) or `opensearch`.
    #[serde(default)]
    pub flavor: Flavor,
    /// Index name, with `%Y`, `%m`, `%d` (and any other strftime field) taken from the
    /// event's time in UTC; default `kev-events-%Y.%m.%d`.
    #[serde(default)]
    pub index: Option<String>,
    /// A data stream instead of an index: documents are written with `op_type: create`.
    #[serde(default)]
    pub data_stream: Option<String>,
    /// File holding a bearer token, read again per batch.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    /// HTTP basic auth.
    #[serde(default)]
    pub basic_auth: Option<EsBasicAuth>,
    #[serde(default)]
    pub tls: TlsConfig,
    /// Time allowed for a whole request; default `30s`.
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
    /// Name in logs and in the `sink` metric label; default `elasticsearch`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
}

pub(super) const DEFAULT_INDEX: &str = "kev-events-%Y.%m.%d";

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Where documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A strftime pattern.
    Index(String),
    DataStream(String),
}

/// Characters Elasticsearch refuses in an index name.
const BAD_INDEX_CHARS: &[char] = &['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

fn check_index_name(field: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.starts_with(['-', '_', '+']) || name.contains(BAD_INDEX_CHARS) {
        return Err(ConfigError::new(
            field,
            format!(
                "{name:?} is not a valid index name (lowercase, no \\ / * ? \" < > | space , # :, not starting with - _ +)"
            ),
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ConfigError::new(
            field,
            format!("{name:?}: index names are lowercase"),
        ));
    }
    Ok(())
}

/// The index of an event at `time`: `pattern`'s strftime fields in UTC.
pub(super) fn index_name(pattern: &str, time: jiff::Timestamp) -> Result<String, String> {
    let zoned = time.to_zoned(jiff::tz::TimeZone::UTC);
    jiff::fmt::strtime::format(pattern, &zoned)
        .map_err(|e| format!("{pattern:?} is not a date pattern: {e}"))
}

impl ElasticsearchSinkConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            flavor: Flavor::default(),
            index: None,
            data_stream: None,
            token_file: None,
            token_env: None,
            basic_auth: None,
            tls: TlsConfig::default(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            token: None,
        }
    }

    /// Documents into the data stream `name` (`op_type: create`).
    #[must_use]
    pub fn data_stream(mut self, name: impl Into<String>) -> Self {
        self.data_stream = Some(name.into());
        self
    }

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(super) fn bulk_url(&self) -> Result<reqwest::Url, ConfigError> {
        let url = parse_url(
            "url",
            &self.url,
            "basic_auth with password_file or password_env",
        )?;
        let base = url.as_str().trim_end_matches('/');
        reqwest::Url::parse(&format!("{base}/_bulk"))
            .map_err(|e| ConfigError::new("url", e.to_string()))
    }

    pub(super) fn target(&self) -> Result<Target, ConfigError> {
        match (&self.index, &self.data_stream) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                "data_stream",
                "set one of index and data_stream",
            )),
            (None, Some(stream)) => {
                if stream.contains('%') {
                    return Err(ConfigError::new(
                        "data_stream",
                        "a data stream name has no date pattern",
                    ));
                }
                check_index_name("data_stream", stream)?;
                Ok(Target::DataStream(stream.clone()))
            }
            (index, None) => {
                let pattern = index.as_deref().unwrap_or(DEFAULT_INDEX);
                // The pattern must format; check it with a fixed time.
                let sample = index_name(pattern, jiff::Timestamp::UNIX_EPOCH)
                    .map_err(|e| ConfigError::new("index", e))?;
                check_index_name("index", &sample)?;
                Ok(Target::Index(pattern.to_owned()))
            }
        }
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bulk_url()?;
        self.target()?;
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            Some(self.basic_auth.is_some()),
        )?;
        if let Some(basic) = &self.basic_auth {
            match (&basic.password_file, &basic.password_env) {
                (Some(_), None) => {}
                (None, Some(var)) => validate_env_name(var, "basic_auth.password_env")?,
                _ => {
                    return Err(ConfigError::new(
                        "basic_auth.password_file",
                        "set exactly one of password_file and password_env",
                    ));
                }
            }
            if basic.username.is_empty() || basic.username.contains(':') {
                return Err(ConfigError::new(
                    "basic_auth.username",
                    "must be non-empty and without ':'",
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
    pub fn build(&self) -> Result<ElasticsearchSink, ConfigError> {
        self.validate()?;
        ElasticsearchSink::new(self)
    }
}
