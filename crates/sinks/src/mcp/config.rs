//! [`McpSinkConfig`]: `type: mcp` in a route's `sinks:`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kev_core::Store;
use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::McpSink;
use crate::http::{Secret, parse_url};

/// How the sink talks to the remediation service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `POST {endpoint}` with the tool's arguments as the JSON body: the dot-ai REST
    /// gateway (`…/api/v1/tools/remediate`).
    #[default]
    Rest,
    /// An MCP client over Streamable HTTP: `initialize`, then `tools/call` of `tool`.
    Mcp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Mcp => "mcp",
        }
    }
}

/// The remediation tool's `mode` argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationMode {
    /// The tool analyses and proposes; a human applies.
    #[default]
    Manual,
    /// The tool applies fixes within `confidence_threshold` and `max_risk_level`.
    Automatic,
}

impl RemediationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Automatic => "automatic",
        }
    }
}

/// The highest risk an automatic remediation may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Config of the MCP sink. The token is never written in it: it is read from a file
/// (a mounted Secret) or an environment variable.
///
/// ```
/// use kev_sinks::mcp::{McpSinkConfig, Protocol, RemediationMode};
/// let yaml = "
/// protocol: rest
/// endpoint: http://dot-ai.dot-ai.svc:3456/api/v1/tools/remediate
/// mode: automatic
/// confidence_threshold: 0.9
/// max_risk_level: medium
/// token_file: /var/run/secrets/kev/dot-ai-token
/// timeout: 20m
/// ";
/// let c: McpSinkConfig = serde_norway::from_str(yaml).unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.mode, RemediationMode::Automatic);
/// let bad: McpSinkConfig = serde_norway::from_str("endpoint: http://x/\nconfidence_threshold: 2").unwrap();
/// assert_eq!(bad.validate().unwrap_err().to_string(), "confidence_threshold: must be between 0 and 1, got 2");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSinkConfig {
    /// `rest` (default) or `mcp`.
    #[serde(default)]
    pub protocol: Protocol,
    /// `http://` or `https://` URL: the REST tool endpoint, or the MCP server's
    /// Streamable HTTP endpoint (`…/mcp`).
    pub endpoint: String,
    /// The MCP tool to call (`protocol: mcp`); default `remediate`.
    #[serde(default = "default_tool")]
    pub tool: String,
    /// `manual` (default) or `automatic`.
    #[serde(default)]
    pub mode: RemediationMode,
    /// Automatic mode only: the lowest confidence at which the tool may act, 0 to 1.
    /// Default 0.8.
    #[serde(default = "default_confidence")]
    pub confidence_threshold: f64,
    /// Automatic mode only: `low` (default), `medium` or `high`.
    #[serde(default)]
    pub max_risk_level: RiskLevel,
    /// Send `context` (the event, pod logs, the object's spec, related events) and
    /// `policy` (the route's name) with the issue. Default `true`.
    #[serde(default = "yes")]
    pub include_context: bool,
    /// The `policy` sent; default the route's name.
    #[serde(default)]
    pub policy: Option<String>,
    /// File holding a bearer token, read again per call.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Time allowed for one remediation call, answer included. Remediations take
    /// minutes; default `15m`.
    #[serde(
        default = "default_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub timeout: Duration,
    /// Time allowed to connect; default `10s`.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub connect_timeout: Duration,
    /// Name in logs, records and the `sink` metric label; default `mcp`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: a token in clear in the config. Accepted by the parser only to say so.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
    /// A bearer token known to the caller (kev reads an EventPolicy's `secretRef` through
    /// the API); never read from YAML. Set with [`McpSinkConfig::bearer_token`].
    #[serde(skip)]
    pub(super) bearer_token: Option<Secret>,
}

fn default_tool() -> String {
    "remediate".to_owned()
}
fn default_confidence() -> f64 {
    0.8
}
fn yes() -> bool {
    true
}
fn default_timeout() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

impl McpSinkConfig {
    /// A config with defaults for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            protocol: Protocol::default(),
            endpoint: endpoint.into(),
            tool: default_tool(),
            mode: RemediationMode::default(),
            confidence_threshold: default_confidence(),
            max_risk_level: RiskLevel::default(),
            include_context: true,
            policy: None,
            token_file: None,
            token_env: None,
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            token: None,
            bearer_token: None,
        }
    }

    /// Sends this bearer token, one the caller read (from a Kubernetes Secret through
    /// the API, say), instead of `token_file` / `token_env`.
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Secret::new(token));
        self
    }

    /// Checks the config without touching files, the environment or the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.token.is_some() {
            return Err(ConfigError::new(
                "token",
                "a token is not accepted in the config file: use token_file or token_env",
            ));
        }
        self.parsed_endpoint()?;
        if self.tool.trim().is_empty() {
            return Err(ConfigError::new("tool", "must not be empty"));
        }
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(ConfigError::new(
                "confidence_threshold",
                format!("must be between 0 and 1, got {}", self.confidence_threshold),
            ));
        }
        if self.token_file.is_some() && self.token_env.is_some() {
            return Err(ConfigError::new(
                "token_file",
                "set at most one of token_file and token_env",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be longer than 0"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be longer than 0"));
        }
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    pub(super) fn parsed_endpoint(&self) -> Result<reqwest::Url, ConfigError> {
        parse_url("endpoint", &self.endpoint, "token_file or token_env")
    }

    /// Validates, then builds the sink for `route`: reads the token, builds the HTTP
    /// client. Outcomes are recorded in `store`.
    pub fn build(&self, route: &str, store: Arc<dyn Store>) -> Result<McpSink, ConfigError> {
        self.validate()?;
        McpSink::new(self, route, store)
    }
}
