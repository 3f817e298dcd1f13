//! [`FileSinkConfig`]: `type: file` in a route's `sinks:`.

use std::path::PathBuf;

use kev_core::config::ConfigError;
use serde::Deserialize;

use super::FileSink;
use crate::kee::EventFormat;

/// Config of the file sink.
///
/// ```
/// let c: kev_sinks::file::FileSinkConfig =
///     serde_norway::from_str("path: /var/log/kev/events.jsonl\nmax_bytes: 1048576\nmax_files: 3").unwrap();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.max_files, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file events are appended to, one JSON line each (in `format`). An
    /// existing file is appended to, never truncated. Its directory must exist.
    pub path: PathBuf,
    /// Rotate before a line would make the file larger than this; default 100 MiB.
    /// A single line larger than this gets a file of its own.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept besides the current one: `<path>.1` (newest) … `<path>.N`;
    /// default 5. With 0, rotation starts the file afresh.
    #[serde(default = "default_max_files")]
    pub max_files: u32,
    /// `kev` (default): kev's Event JSON. `kee`: kubernetes-event-exporter's default
    /// JSON (its `EnhancedEvent`), for readers written for KEE's file sink.
    #[serde(default)]
    pub format: EventFormat,
    /// Name in logs and in the `sink` metric label; default `file`.
    #[serde(default)]
    pub name: Option<String>,
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_max_files() -> u32 {
    5
}

impl FileSinkConfig {
    /// A config with the default limits.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_bytes: default_max_bytes(),
            max_files: default_max_files(),
            format: EventFormat::Kev,
            name: None,
        }
    }

    /// Checks the config without touching the file system.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.path.as_os_str().is_empty() || self.path.file_name().is_none() {
            return Err(ConfigError::new(
                "path",
                format!("{:?} does not name a file", self.path),
            ));
        }
        if self.max_bytes == 0 {
            return Err(ConfigError::new("max_bytes", "must be at least 1"));
        }
        if self.max_files > 1000 {
            return Err(ConfigError::new(
                "max_files",
                format!("{} is more than the limit of 1000", self.max_files),
            ));
        }
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    /// Validates and opens the file (so that a wrong directory fails at start).
    pub fn build(&self) -> Result<FileSink, ConfigError> {
        self.validate()?;
        FileSink::open(self).map_err(|e| {
            ConfigError::new("path", format!("cannot open {}: {e}", self.path.display()))
        })
    }
}
