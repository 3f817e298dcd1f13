//! [`NatsSinkConfig`] and [`NatsSourceConfig`]: `type: nats` blocks, and the connection
//! and stream settings they share.

use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::subject::SubjectTemplate;

/// How to reach the NATS servers. Secrets are never written here: they come from a
/// `.creds` file, a password file or an environment variable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Server URLs (`nats://host:4222`, `tls://host:4222`); the client tries them all
    /// and follows the cluster's gossip of other members.
    pub servers: Vec<String>,
    /// A `.creds` file (user JWT + nkey seed), as `nsc` writes it.
    #[serde(default)]
    pub creds_file: Option<PathBuf>,
    /// User name; its password comes from `password_file` or `password_env`.
    #[serde(default)]
    pub user: Option<String>,
    /// File holding the password of `user`, read at connect.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password of `user`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// TLS settings (also turns TLS on when `required: true`).
    #[serde(default)]
    pub tls: NatsTlsConfig,
    /// Time allowed to connect to one server; default `5s`.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub connect_timeout: Duration,
    /// Refused: a password in clear in the config.
    #[serde(default)]
    pub(super) password: Option<IgnoredAny>,
}

/// TLS towards NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsTlsConfig {
    /// Require TLS even when the URL says `nats://`.
    #[serde(default)]
    pub required: bool,
    /// PEM file of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS; needs `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// The JetStream stream events go through, and whether kev creates it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Stream name; default `KEV_EVENTS`.
    #[serde(default = "default_stream_name")]
    pub name: String,
    /// `true`: create the stream if it is missing, and check that an existing one has
    /// these settings (a mismatch is an error naming the setting). `false` (default):
    /// only check that it exists.
    #[serde(default)]
    pub create: bool,
    /// Subjects the stream captures; default `["kev.events.>"]`.
    #[serde(default = "default_stream_subjects")]
    pub subjects: Vec<String>,
    /// `limits` (default: kept until `max_age`/`max_bytes`), `interest` or `work_queue`.
    #[serde(default)]
    pub retention: Retention,
    /// Copies kept by a NATS cluster: 1 (default), 3 or 5.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// Oldest message kept; default `7d`. `0s`: no limit.
    #[serde(
        default = "default_max_age",
        deserialize_with = "kev_core::config::duration"
    )]
    pub max_age: Duration,
    /// Size of the stream before the oldest messages go; default 0 = no limit.
    #[serde(default)]
    pub max_bytes: u64,
    /// Window in which a repeated `Nats-Msg-Id` is dropped; default `10m` (longer than
    /// an agent restart).
    #[serde(
        default = "default_duplicate_window",
        deserialize_with = "kev_core::config::duration"
    )]
    pub duplicate_window: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            name: default_stream_name(),
            create: false,
            subjects: default_stream_subjects(),
            retention: Retention::default(),
            replicas: default_replicas(),
            max_age: default_max_age(),
            max_bytes: 0,
            duplicate_window: default_duplicate_window(),
        }
    }
}

/// JetStream retention policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    #[default]
    Limits,
    Interest,
    WorkQueue,
}

/// `type: nats` in a route's `sinks:`: publishes each event to JetStream and waits
/// for the ack.
///
/// ```
/// use kev_sinks::nats::NatsSinkConfig;
/// let yaml = "
/// connection: {servers: [nats://127.0.0.1:4222], creds_file: /etc/kev/nats.creds}
/// stream: {create: true, replicas: 3, max_age: 3d}
/// ";
/// let c: NatsSinkConfig = serde_norway::from_str(yaml).unwrap();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.subject, "kev.events.{cluster}.{namespace}");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    pub connection: ConnectionConfig,
    #[serde(default)]
    pub stream: StreamConfig,
    /// Subject template: `{cluster}` and `{namespace}` are replaced by the event's
    /// (sanitized: `.`, `*`, `>` and spaces become `_`; no namespace is `_cluster`).
    /// Default `kev.events.{cluster}.{namespace}`.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// How long one batch keeps retrying publishes that got no ack (a stream leader
    /// change stalls publishing for seconds) before the route is told to retry later;
    /// default `30s`.
    #[serde(
        default = "default_retry_budget",
        deserialize_with = "kev_core::config::duration"
    )]
    pub retry_budget: Duration,
    /// Time to wait for one publish ack; default `5s`.
    #[serde(
        default = "default_ack_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub ack_timeout: Duration,
    /// Name in logs and in the `sink` metric label; default `nats`.
    #[serde(default)]
    pub name: Option<String>,
}

impl NatsSinkConfig {
    /// Checks the config without IO; errors name the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::config::validate_name(self.name.as_deref())?;
        self.connection
            .validate()
            .map_err(|e| e.within("connection"))?;
        self.stream.validate().map_err(|e| e.within("stream"))?;
        SubjectTemplate::parse(&self.subject).map_err(|e| ConfigError::new("subject", e))?;
        if self.retry_budget < Duration::from_secs(1) {
            return Err(ConfigError::new("retry_budget", "must be at least 1s"));
        }
        if self.ack_timeout.is_zero() {
            return Err(ConfigError::new("ack_timeout", "must be more than 0s"));
        }
        Ok(())
    }

    /// Validates and builds the sink; it connects on its first batch.
    pub fn build(&self) -> Result<super::NatsSink, ConfigError> {
        self.validate()?;
        super::NatsSink::new(self.clone())
    }
}

/// `source: {type: nats}`: the central kev's durable pull consumer.
///
/// ```
/// use kev_sinks::nats::NatsSourceConfig;
/// let c: NatsSourceConfig =
///     serde_norway::from_str("connection: {servers: [nats://127.0.0.1:4222]}\n").unwrap();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.consumer, "kev-central");
/// assert_eq!(c.filter_subject, "kev.events.>");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSourceConfig {
    pub connection: ConnectionConfig,
    #[serde(default)]
    pub stream: StreamConfig,
    /// Durable consumer name; replicas of the central kev that share it share the
    /// messages. Default `kev-central`.
    #[serde(default = "default_consumer")]
    pub consumer: String,
    /// One subject filter (`kev.events.prod-*.>` is not NATS syntax; use
    /// `kev.events.prod-eu-1.>` or `kev.events.*.>`); default `kev.events.>`.
    #[serde(default = "default_filter")]
    pub filter_subject: String,
    /// Messages asked for per fetch; default 500.
    #[serde(default = "default_fetch_max")]
    pub fetch_max_messages: usize,
    /// How long a fetch waits for messages when none are there; default `2s`.
    #[serde(
        default = "default_fetch_expires",
        deserialize_with = "kev_core::config::duration"
    )]
    pub fetch_expires: Duration,
    /// Messages delivered but not yet acked (stored) before the server waits;
    /// default 20000.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: i64,
    /// Time before an unacked message is delivered again (also after a crash of the
    /// central kev); default `30s`. Keep it well above a store commit.
    #[serde(
        default = "default_ack_wait",
        deserialize_with = "kev_core::config::duration"
    )]
    pub ack_wait: Duration,
}

impl NatsSourceConfig {
    /// Checks the config without IO; errors name the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.connection
            .validate()
            .map_err(|e| e.within("connection"))?;
        self.stream.validate().map_err(|e| e.within("stream"))?;
        if !valid_name(&self.consumer) {
            return Err(ConfigError::new(
                "consumer",
                format!(
                    "{:?} is not a valid consumer name: use letters, digits, '-' or '_'",
                    self.consumer
                ),
            ));
        }
        validate_subject(&self.filter_subject, true)
            .map_err(|e| ConfigError::new("filter_subject", e))?;
        if self.fetch_max_messages == 0 || self.fetch_max_messages > 10_000 {
            return Err(ConfigError::new(
                "fetch_max_messages",
                "must be between 1 and 10000",
            ));
        }
        if self.fetch_expires < Duration::from_millis(100) {
            return Err(ConfigError::new("fetch_expires", "must be at least 100ms"));
        }
        if self.max_ack_pending < self.fetch_max_messages as i64 {
            return Err(ConfigError::new(
                "max_ack_pending",
                "must be at least fetch_max_messages",
            ));
        }
        if self.ack_wait < Duration::from_secs(1) {
            return Err(ConfigError::new("ack_wait", "must be at least 1s"));
        }
        Ok(())
    }

    /// Validates and builds the source; it connects in `start`.
    pub fn build(&self) -> Result<super::NatsSource, ConfigError> {
        self.validate()?;
        Ok(super::NatsSource::new(self.clone()))
    }
}

impl ConnectionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.password.is_some() {
            return Err(ConfigError::new(
                "password",
                "a password is not written in the config: use password_file or password_env",
            ));
        }
        if self.servers.is_empty() {
            return Err(ConfigError::new("servers", "at least one server URL"));
        }
        for (i, server) in self.servers.iter().enumerate() {
            if server.parse::<async_nats::ServerAddr>().is_err() {
                return Err(ConfigError::new(
                    format!("servers[{i}]"),
                    format!("{server:?} is not a NATS URL (nats://host:4222)"),
                ));
            }
            if server.contains('@') {
                return Err(ConfigError::new(
                    format!("servers[{i}]"),
                    "credentials in the URL are refused: use creds_file or user + password_file",
                ));
            }
        }
        let password = self.password_file.is_some() || self.password_env.is_some();
        if self.password_file.is_some() && self.password_env.is_some() {
            return Err(ConfigError::new(
                "password_env",
                "set password_file or password_env, not both",
            ));
        }
        if password && self.user.is_none() {
            return Err(ConfigError::new("user", "a password needs a user"));
        }
        if self.user.is_some() && !password {
            return Err(ConfigError::new(
                "password_file",
                "user needs password_file or password_env",
            ));
        }
        if self.creds_file.is_some() && self.user.is_some() {
            return Err(ConfigError::new(
                "creds_file",
                "set creds_file or user + password, not both",
            ));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(ConfigError::new(
                "tls.key_file",
                "cert_file and key_file go together",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be more than 0s"));
        }
        Ok(())
    }
}

impl StreamConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !valid_name(&self.name) {
            return Err(ConfigError::new(
                "name",
                format!(
                    "{:?} is not a valid stream name: use letters, digits, '-' or '_'",
                    self.name
                ),
            ));
        }
        if self.subjects.is_empty() {
            return Err(ConfigError::new("subjects", "at least one subject"));
        }
        for (i, s) in self.subjects.iter().enumerate() {
            validate_subject(s, true).map_err(|e| ConfigError::new(format!("subjects[{i}]"), e))?;
        }
        if !matches!(self.replicas, 1..=5) {
            return Err(ConfigError::new("replicas", "must be between 1 and 5"));
        }
        if i64::try_from(self.max_bytes).is_err() {
            return Err(ConfigError::new("max_bytes", "too large"));
        }
        if self.duplicate_window.is_zero() {
            return Err(ConfigError::new(
                "duplicate_window",
                "must be more than 0s: it is what drops events published twice",
            ));
        }
        if !self.max_age.is_zero() && self.duplicate_window > self.max_age {
            return Err(ConfigError::new(
                "duplicate_window",
                "must not be longer than max_age",
            ));
        }
        Ok(())
    }
}

/// A subject: dot-separated non-empty tokens without spaces; `*` and `>` (last) only
/// as whole tokens and only when `wildcards`.
pub(super) fn validate_subject(subject: &str, wildcards: bool) -> Result<(), String> {
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{subject:?} is not a valid subject: empty token or whitespace"
            ));
        }
        let wild = *token == "*" || (*token == ">" && i == tokens.len() - 1);
        if (token.contains(['*', '>']) && !wild) || (wild && !wildcards) {
            return Err(format!(
                "{subject:?} is not a valid subject: '*' and '>' are whole tokens, '>' only last"
            ));
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_stream_name() -> String {
    "KEV_EVENTS".into()
}
fn default_stream_subjects() -> Vec<String> {
    vec!["kev.events.>".into()]
}
fn default_replicas() -> usize {
    1
}
fn default_max_age() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_duplicate_window() -> Duration {
    Duration::from_secs(600)
}
fn default_subject() -> String {
    "kev.events.{cluster}.{namespace}".into()
}
fn default_retry_budget() -> Duration {
    Duration::from_secs(30)
}
fn default_ack_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_consumer() -> String {
    "kev-central".into()
}
fn default_filter() -> String {
    "kev.events.>".into()
}
fn default_fetch_max() -> usize {
    500
}
fn default_fetch_expires() -> Duration {
    Duration::from_secs(2)
}
fn default_max_ack_pending() -> i64 {
    20_000
}
fn default_ack_wait() -> Duration {
    Duration::from_secs(30)
}
