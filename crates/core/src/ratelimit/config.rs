//! [`RateLimitConfig`]: a route's `rate_limit:` block, and its `validate()`.

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// What a rate limiter counts separately: each key has its own bucket and cooldown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// The involved (regarding) object: cluster, namespace, kind and name; its uid when
    /// the event names no object.
    Object,
    /// The involved object and the event's reason: a pod's `BackOff` storm does not
    /// silence its `OOMKilling`.
    #[default]
    ObjectReason,
    /// One bucket for the whole route.
    Route,
    /// One bucket for everything this limiter sees. A limiter belongs to one route, so
    /// this limits like `route`; it reads better when the cap is meant as global.
    Global,
}

/// A route's rate limit, as written under `rate_limit:`.
///
/// Each key (see [`LimitKey`]) gets a token bucket that holds `burst` tokens and refills
/// at `per_minute`; an event takes one token or is `limited`. With a `cooldown`, an
/// allowed event makes its key `suppressed` for that long ("first occurrence, then
/// quiet"). `global_per_minute` adds one more bucket that every allowed event must also
/// pass. A denied event consumes nothing.
///
/// ```
/// use std::time::Duration;
/// use kev_core::RateLimitConfig;
/// let c: RateLimitConfig =
///     serde_norway::from_str("{key: object_reason, per_minute: 10, burst: 5, cooldown: 5m}").unwrap();
/// assert_eq!(c.cooldown, Some(Duration::from_secs(300)));
/// assert_eq!(c.max_keys, 10_000);
/// c.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// What is counted separately: `object`, `object_reason` (default), `route` or `global`.
    #[serde(default)]
    pub key: LimitKey,
    /// Tokens added to each key's bucket per minute (may be fractional: `0.5` is one
    /// every two minutes). Must be greater than 0.
    pub per_minute: f64,
    /// Size of each key's bucket: how many events may pass at once after a quiet spell.
    /// At least 1; default 1.
    #[serde(default = "one")]
    pub burst: u32,
    /// After an allowed event, further events of the same key are suppressed for this
    /// long (`30s`, `5m`, `1h`). Unset: no cooldown.
    #[serde(default, deserialize_with = "crate::config::opt_duration")]
    pub cooldown: Option<Duration>,
    /// A cap over all keys: tokens per minute of one more bucket that every allowed
    /// event must pass too. Unset: no global cap.
    #[serde(default)]
    pub global_per_minute: Option<f64>,
    /// Size of the global bucket; needs `global_per_minute`. At least 1; default 1.
    #[serde(default)]
    pub global_burst: Option<u32>,
    /// How many keys are remembered. Past this, the least recently seen key is
    /// forgotten and starts again with a full bucket and no cooldown when it comes back.
    /// At least 1; default 10000.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
}

fn one() -> u32 {
    1
}

fn default_max_keys() -> usize {
    10_000
}

impl Default for RateLimitConfig {
    /// One event per minute per object and reason, no cooldown, no global cap.
    fn default() -> Self {
        Self {
            key: LimitKey::default(),
            per_minute: 1.0,
            burst: 1,
            cooldown: None,
            global_per_minute: None,
            global_burst: None,
            max_keys: default_max_keys(),
        }
    }
}

impl RateLimitConfig {
    /// Checks the values serde cannot; the error names the field.
    ///
    /// ```
    /// let c = kev_core::RateLimitConfig { per_minute: 0.0, ..Default::default() };
    /// assert_eq!(c.validate().unwrap_err().to_string(), "per_minute: must be a number greater than 0, got 0");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive_rate("per_minute", self.per_minute)?;
        at_least_one("burst", u64::from(self.burst))?;
        if self.cooldown.is_some_and(|c| c.is_zero()) {
            return Err(ConfigError::new(
                "cooldown",
                "must be longer than 0; leave it out for no cooldown",
            ));
        }
        if let Some(rate) = self.global_per_minute {
            positive_rate("global_per_minute", rate)?;
        }
        if let Some(burst) = self.global_burst {
            if self.global_per_minute.is_none() {
                return Err(ConfigError::new(
                    "global_burst",
                    "set global_per_minute too, or leave global_burst out",
                ));
            }
            at_least_one("global_burst", u64::from(burst))?;
        }
        at_least_one("max_keys", self.max_keys as u64)?;
        Ok(())
    }
}

fn positive_rate(path: &str, rate: f64) -> Result<(), ConfigError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(
            path,
            format!("must be a number greater than 0, got {rate}"),
        ))
    }
}

fn at_least_one(path: &str, value: u64) -> Result<(), ConfigError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(ConfigError::new(path, "must be at least 1"))
    }
}
