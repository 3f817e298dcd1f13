//! [`KafkaSinkConfig`]: `type: kafka` in a route's `sinks:`.

use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::KafkaSink;
use crate::http::{TlsConfig, validate_env_name};
use crate::kee::EventFormat;
use crate::template::Template;

/// Config of the Kafka sink. The SASL password is read from a file or the environment,
/// never from the config.
///
/// ```
/// use kev_sinks::kafka::KafkaSinkConfig;
/// let yaml = "
/// brokers: [kafka-0.kafka:9092, kafka-1.kafka:9092]
/// topic: kube-events
/// compression: snappy
/// sasl: {mechanism: scram-sha-512, username: kev, password_file: /var/run/secrets/kev/kafka}
/// tls: {}
/// ";
/// let c: KafkaSinkConfig = serde_norway::from_str(yaml).unwrap();
/// assert!(c.validate().is_ok());
/// let bad: KafkaSinkConfig = serde_norway::from_str("brokers: [k:9092]\ntopic: 'a b'").unwrap();
/// assert_eq!(bad.validate().unwrap_err().to_string(), "topic: \"a b\" is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Bootstrap brokers, `host:port`; the others are learnt from the cluster's metadata.
    pub brokers: Vec<String>,
    /// The topic every event goes to; it must exist (kev does not create topics).
    pub topic: String,
    /// The record value: `kev` (default, kev's Event JSON) or `kee`
    /// (kubernetes-event-exporter's body).
    #[serde(default)]
    pub format: EventFormat,
    /// A template for the record value instead of `format` (`kev_sinks::template`).
    #[serde(default)]
    pub template: Option<String>,
    /// Compression of record batches: `none` (default), `gzip` or `snappy`.
    #[serde(default)]
    pub compression: KafkaCompression,
    /// SASL authentication (PLAIN or SCRAM); use with `tls`, since PLAIN sends the password
    /// as it is.
    #[serde(default)]
    pub sasl: Option<SaslConfig>,
    /// TLS to the brokers (`tls: {}` for the built-in roots; certificates are verified).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Time a produce may take, the client's own retries (leader moves) included, before
    /// the route retries it; default `30s`.
    #[serde(
        default = "default_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub timeout: Duration,
    /// `client.id` the brokers see; default `kev`.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// Name in logs and in the `sink` metric label; default `kafka`.
    #[serde(default)]
    pub name: Option<String>,
}

/// Compression of the record batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaCompression {
    #[default]
    None,
    Gzip,
    Snappy,
}

/// SASL settings of the Kafka sink.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    /// File holding the password, read when kev connects.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password, read at start.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Refused: a password in clear in the config.
    #[serde(default)]
    password: Option<IgnoredAny>,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .finish()
    }
}

/// A SASL mechanism the brokers offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "plain")]
    Plain,
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_client_id() -> String {
    "kev".to_owned()
}

impl KafkaSinkConfig {
    /// A config for `topic` on `brokers` with every other field at its default.
    pub fn new(brokers: Vec<String>, topic: impl Into<String>) -> Self {
        Self {
            brokers,
            topic: topic.into(),
            format: EventFormat::Kev,
            template: None,
            compression: KafkaCompression::None,
            sasl: None,
            tls: None,
            timeout: default_timeout(),
            client_id: default_client_id(),
            name: None,
        }
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.is_empty() {
            return Err(ConfigError::new("brokers", "at least one broker is needed"));
        }
        for (i, broker) in self.brokers.iter().enumerate() {
            validate_broker(broker).map_err(|e| ConfigError::new(format!("brokers[{i}]"), e))?;
        }
        if !is_topic_name(&self.topic) {
            return Err(ConfigError::new(
                "topic",
                format!(
                    "{:?} is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)",
                    self.topic
                ),
            ));
        }
        self.compiled_template()?;
        if let Some(sasl) = &self.sasl {
            sasl.validate().map_err(|e| e.within("sasl"))?;
        }
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| e.within("tls"))?;
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be more than 0"));
        }
        if self.client_id.is_empty() {
            return Err(ConfigError::new("client_id", "must not be empty"));
        }
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    /// The value template, compiled; a template and `format: kee` are refused together.
    pub(super) fn compiled_template(&self) -> Result<Option<Template>, ConfigError> {
        let Some(source) = &self.template else {
            return Ok(None);
        };
        if self.format != EventFormat::Kev {
            return Err(ConfigError::new(
                "format",
                "a template is the whole value: leave format out with template",
            ));
        }
        Template::compile("template", source).map(Some)
    }

    /// Validates, reads the password and certificates; the brokers are contacted on the
    /// first batch (a broker down at start is a retryable delivery failure, not a
    /// refused config).
    pub fn build(&self) -> Result<KafkaSink, ConfigError> {
        self.validate()?;
        KafkaSink::new(self)
    }
}

fn validate_broker(broker: &str) -> Result<(), String> {
    let Some((host, port)) = broker.rsplit_once(':') else {
        return Err(format!("{broker:?} is not host:port"));
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("{broker:?} is not host:port"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("{broker:?}: {port:?} is not a port")),
    }
}

/// Kafka's own rule (`Topic.validate`): 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn is_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl SaslConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.password.is_some() {
            return Err(ConfigError::new(
                "password",
                "a password is not accepted in clear in the config: use password_file or password_env",
            ));
        }
        if self.username.is_empty() {
            return Err(ConfigError::new("username", "must not be empty"));
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
