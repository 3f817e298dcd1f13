//! [`StreamConfig`] and [`ensure_stream`]: the JetStream stream events go through,
//! created, or checked to have the configured settings.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use kev_core::config::ConfigError;
use serde::Deserialize;

use super::subject::validate_subject;

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

impl StreamConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
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

/// A stream or consumer name: letters, digits, `-` and `_`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Why the stream could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    #[error("JetStream stream {name}: {detail}")]
    Unavailable { name: String, detail: String },
    #[error("JetStream stream {name} exists with {setting} = {found}, the config says {wanted}")]
    Mismatch {
        name: String,
        setting: &'static str,
        found: String,
        wanted: String,
    },
}

/// With `create: true` creates the stream if missing, then checks its settings; with
/// `create: false` only checks that it exists.
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: &StreamConfig,
) -> Result<(), StreamError> {
    let unavailable = |detail: String| StreamError::Unavailable {
        name: config.name.clone(),
        detail,
    };
    if !config.create {
        js.get_stream(&config.name)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        return Ok(());
    }
    let mut stream = js
        .get_or_create_stream(wanted(config))
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let info = stream
        .info()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    compare(&config.name, &info.config, &wanted(config))
}

fn wanted(config: &StreamConfig) -> stream::Config {
    stream::Config {
        name: config.name.clone(),
        subjects: config.subjects.clone(),
        retention: match config.retention {
            Retention::Limits => stream::RetentionPolicy::Limits,
            Retention::Interest => stream::RetentionPolicy::Interest,
            Retention::WorkQueue => stream::RetentionPolicy::WorkQueue,
        },
        num_replicas: config.replicas,
        max_age: config.max_age,
        max_bytes: i64::try_from(config.max_bytes)
            .ok()
            .filter(|b| *b > 0)
            .unwrap_or(-1),
        duplicate_window: config.duplicate_window,
        storage: stream::StorageType::File,
        ..stream::Config::default()
    }
}

fn compare(name: &str, found: &stream::Config, wanted: &stream::Config) -> Result<(), StreamError> {
    let mismatch = |setting, found: String, wanted: String| {
        Err(StreamError::Mismatch {
            name: name.to_owned(),
            setting,
            found,
            wanted,
        })
    };
    let mut found_subjects = found.subjects.clone();
    let mut wanted_subjects = wanted.subjects.clone();
    found_subjects.sort();
    wanted_subjects.sort();
    if found_subjects != wanted_subjects {
        return mismatch(
            "subjects",
            format!("{found_subjects:?}"),
            format!("{wanted_subjects:?}"),
        );
    }
    if found.retention != wanted.retention {
        return mismatch(
            "retention",
            format!("{:?}", found.retention),
            format!("{:?}", wanted.retention),
        );
    }
    if found.num_replicas.max(1) != wanted.num_replicas {
        return mismatch(
            "replicas",
            found.num_replicas.to_string(),
            wanted.num_replicas.to_string(),
        );
    }
    if found.max_age != wanted.max_age {
        return mismatch(
            "max_age",
            format!("{:?}", found.max_age),
            format!("{:?}", wanted.max_age),
        );
    }
    if found.max_bytes.max(-1) != wanted.max_bytes {
        return mismatch(
            "max_bytes",
            found.max_bytes.to_string(),
            wanted.max_bytes.to_string(),
        );
    }
    if found.duplicate_window != wanted.duplicate_window {
        return mismatch(
            "duplicate_window",
            format!("{:?}", found.duplicate_window),
            format!("{:?}", wanted.duplicate_window),
        );
    }
    Ok(())
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
