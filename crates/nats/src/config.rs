//! [`NatsSinkConfig`] and [`NatsSourceConfig`]: the `type: nats` blocks of a route's
//! `sinks:` and of `source:`.

use std::time::Duration;

use kev_core::config::ConfigError;
use serde::Deserialize;

use super::connection::ConnectionConfig;
use super::stream::{StreamConfig, valid_name};
use super::subject::{SubjectTemplate, validate_subject};

/// `type: nats` in a route's `sinks:`: publishes each event to JetStream and waits
/// for the ack.
///
/// ```
/// use kev_nats::NatsSinkConfig;
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
    /// Deprecated and ignored (accepted so that existing configs load; `kev run` warns):
    /// the sink no longer retries by itself. A publish without an ack is a retryable
    /// error, and the route sends the unacked events again with the same message ids
    /// after its own jittered backoff (`retry: {initial, max}`), which rides out a
    /// stream leader change the same way.
    #[serde(default, deserialize_with = "kev_core::config::opt_duration")]
    pub retry_budget: Option<Duration>,
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
        kev_core::config::validate_sink_name(self.name.as_deref())?;
        self.connection
            .validate()
            .map_err(|e| e.within("connection"))?;
        self.stream.validate().map_err(|e| e.within("stream"))?;
        SubjectTemplate::parse(&self.subject).map_err(|e| ConfigError::new("subject", e))?;
        if self.ack_timeout.is_zero() {
            return Err(ConfigError::new("ack_timeout", "must be more than 0s"));
        }
        Ok(())
    }

    /// Validates and builds the sink; it connects on its first batch.
    pub fn build(&self) -> Result<super::NatsSink, ConfigError> {
        self.validate()?;
        if self.retry_budget.is_some() {
            tracing::warn!(
                "the nats sink's retry_budget is deprecated and ignored: the route's `retry` settings pace the resends"
            );
        }
        super::NatsSink::new(self.clone())
    }
}

/// `source: {type: nats}`: the central kev's durable pull consumer.
///
/// ```
/// use kev_nats::NatsSourceConfig;
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

fn default_subject() -> String {
    "kev.events.{cluster}.{namespace}".into()
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
