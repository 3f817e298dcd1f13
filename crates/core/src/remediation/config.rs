//! [`RemediationConfig`]: a route's `remediation:` block, and its `validate()`.

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// What counts as "the same problem" for a remediation gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationKey {
    /// The involved object and the reason.
    Object,
    /// The object's owner (a Pod's ReplicaSet, Job, StatefulSet…, guessed from the
    /// Pod's generated name or taken from the event's related object) and the reason,
    /// so that one failing workload is one remediation; the object when there is no
    /// owner to see.
    #[default]
    Owner,
}

/// A remediation route's gate, as written under `remediation:`.
///
/// ```
/// use std::time::Duration;
/// use kev_core::remediation::{RemediationConfig, RemediationKey};
/// let c: RemediationConfig =
///     serde_norway::from_str("{min_occurrences: 3, window: 10m, cooldown: 1h, key: owner}").unwrap();
/// c.validate().unwrap();
/// assert_eq!(c.window, Duration::from_secs(600));
/// assert_eq!(c.key, RemediationKey::Owner);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationConfig {
    /// Occurrences of the same problem needed within `window` before the route fires.
    /// An event's own `count` (or series count) counts: one event seen with count 5 is
    /// five occurrences. At least 1; default 1.
    #[serde(default = "one")]
    pub min_occurrences: u32,
    /// How far back occurrences count (`10m`). Default `10m`.
    #[serde(
        default = "default_window",
        deserialize_with = "crate::config::duration"
    )]
    pub window: Duration,
    /// After firing, the same problem does not fire again for this long, across
    /// restarts. Default `1h`.
    #[serde(
        default = "default_cooldown",
        deserialize_with = "crate::config::duration"
    )]
    pub cooldown: Duration,
    /// `owner` (default) or `object`; see [`RemediationKey`].
    #[serde(default)]
    pub key: RemediationKey,
}

fn one() -> u32 {
    1
}
fn default_window() -> Duration {
    Duration::from_secs(600)
}
fn default_cooldown() -> Duration {
    Duration::from_secs(3600)
}

impl Default for RemediationConfig {
    fn default() -> Self {
        Self {
            min_occurrences: 1,
            window: default_window(),
            cooldown: default_cooldown(),
            key: RemediationKey::default(),
        }
    }
}

impl RemediationConfig {
    /// Checks the values serde cannot; the error names the field.
    ///
    /// ```
    /// let c = kev_core::remediation::RemediationConfig { min_occurrences: 0, ..Default::default() };
    /// assert_eq!(c.validate().unwrap_err().to_string(), "min_occurrences: must be at least 1");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.min_occurrences == 0 {
            return Err(ConfigError::new("min_occurrences", "must be at least 1"));
        }
        if self.window.is_zero() {
            return Err(ConfigError::new("window", "must be longer than 0"));
        }
        Ok(())
    }
}
