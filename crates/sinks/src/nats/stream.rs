//! [`ensure_stream`]: create the JetStream stream, or check that the existing one has
//! the configured settings.

use async_nats::jetstream::{self, stream};

use super::config::{Retention, StreamConfig};

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
