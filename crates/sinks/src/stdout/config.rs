//! [`StdoutSinkConfig`]: `type: stdout` in a route's `sinks:`.

use kev_core::config::ConfigError;
use serde::Deserialize;

use super::StdoutSink;

/// Config of the stdout sink.
///
/// ```
/// use kev_sinks::stdout::{StdoutFormat, StdoutSinkConfig};
/// let c: StdoutSinkConfig = serde_norway::from_str("format: text").unwrap();
/// assert_eq!(c.format, StdoutFormat::Text);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {
    /// `json` (default): one event per line in kev's Event JSON form, not wrapped (the
    /// store's `seq` is local to one store, so it is left out; `uid` and
    /// `resourceVersion` identify an event everywhere). `text`: one line
    /// per event, `LAST SEEN  NAMESPACE  TYPE  REASON  OBJECT  MESSAGE`, for people.
    #[serde(default)]
    pub format: StdoutFormat,
    /// Name in logs and in the `sink` metric label; default `stdout`.
    #[serde(default)]
    pub name: Option<String>,
}

/// How the stdout sink prints an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StdoutFormat {
    /// kev's Event JSON, one object per line (the form `kev query -o json` prints).
    #[default]
    Json,
    /// `2026-11-23T17:33:40Z  default  Warning  BackOff  pod/web-0  Back-off restarting…`
    Text,
}

impl StdoutSinkConfig {
    /// Checks the config; nothing to read or open.
    pub fn validate(&self) -> Result<(), ConfigError> {
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    /// A sink writing to this process's standard output.
    pub fn build(&self) -> Result<StdoutSink, ConfigError> {
        self.validate()?;
        Ok(StdoutSink::new(self))
    }
}
