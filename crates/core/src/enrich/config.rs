//! [`EnrichConfig`]: a route's `enrich:` block, and its `validate()`.

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// What context a route gathers for each event before its sinks. Every part is on by
/// default once the block is present; switch one off with `enabled: false` (or
/// `spec: false`).
///
/// ```
/// use std::time::Duration;
/// use kev_core::enrich::EnrichConfig;
/// let c: EnrichConfig = serde_norway::from_str(
///     "{logs: {lines: 50, bytes: 8192}, related_events: {lookback: 30m, max: 10}, spec: false}",
/// ).unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.related_events.lookback, Duration::from_secs(1800));
/// assert!(!c.spec);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// The last lines of the involved pod's containers (and of the previous instance of
    /// a container when the event is `BackOff` or `CrashLoopBackOff`).
    #[serde(default)]
    pub logs: LogsConfig,
    /// Other events of the same object, from kev's own store.
    #[serde(default)]
    pub related_events: RelatedEventsConfig,
    /// The involved object as the API server has it, with secret values stripped.
    /// Default `true`.
    #[serde(default = "yes")]
    pub spec: bool,
    /// Largest spec (as JSON) that is passed on; a bigger one is reported as a failed
    /// part. Default 65536.
    #[serde(default = "default_spec_bytes")]
    pub spec_max_bytes: usize,
}

/// `enrich.logs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Lines asked for per container (`tailLines`). At least 1; default 100.
    #[serde(default = "default_lines")]
    pub lines: u32,
    /// Bytes kept per container log, the newest part. At least 1; default 16384.
    #[serde(default = "default_log_bytes")]
    pub bytes: usize,
}

/// `enrich.related_events`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedEventsConfig {
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How far back from the event's time (`30m`, `2h`). Default `1h`.
    #[serde(
        default = "default_lookback",
        deserialize_with = "crate::config::duration"
    )]
    pub lookback: Duration,
    /// At most this many events, the newest. At least 1; default 20.
    #[serde(default = "default_max")]
    pub max: usize,
}

fn yes() -> bool {
    true
}
fn default_spec_bytes() -> usize {
    65_536
}
fn default_lines() -> u32 {
    100
}
fn default_log_bytes() -> usize {
    16_384
}
fn default_lookback() -> Duration {
    Duration::from_secs(3600)
}
fn default_max() -> usize {
    20
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lines: default_lines(),
            bytes: default_log_bytes(),
        }
    }
}

impl Default for RelatedEventsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lookback: default_lookback(),
            max: default_max(),
        }
    }
}

impl Default for EnrichConfig {
    fn default() -> Self {
        Self {
            logs: LogsConfig::default(),
            related_events: RelatedEventsConfig::default(),
            spec: true,
            spec_max_bytes: default_spec_bytes(),
        }
    }
}

impl EnrichConfig {
    /// Checks the values serde cannot; the error names the field.
    ///
    /// ```
    /// let mut c = kev_core::enrich::EnrichConfig::default();
    /// c.logs.lines = 0;
    /// assert_eq!(c.validate().unwrap_err().to_string(), "logs.lines: must be at least 1");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = |path: &str, v: u64| {
            if v >= 1 {
                Ok(())
            } else {
                Err(ConfigError::new(path, "must be at least 1"))
            }
        };
        at_least_one("logs.lines", u64::from(self.logs.lines))?;
        at_least_one("logs.bytes", self.logs.bytes as u64)?;
        at_least_one("related_events.max", self.related_events.max as u64)?;
        at_least_one("spec_max_bytes", self.spec_max_bytes as u64)?;
        if self.related_events.lookback.is_zero() {
            return Err(ConfigError::new(
                "related_events.lookback",
                "must be longer than 0",
            ));
        }
        Ok(())
    }
}
