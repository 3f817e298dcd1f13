//! [`RecorderConfig`]: the recorder's settings, client-go's defaults, and the
//! `KEV_RECORDER_*` environment switches that roll it out or turn it down.

use std::time::Duration;

use kev_core::config::{ConfigError, parse_duration};

/// The recorder's settings. `Default` is client-go's behaviour; [`from_env`](Self::from_env)
/// reads the overrides an operator sets on the controller's Deployment.
///
/// | variable | field | default |
/// |---|---|---|
/// | `KEV_RECORDER_ENABLED` | [`enabled`](Self::enabled) | `true` |
/// | `KEV_RECORDER_RATE_LIMIT_PER_MIN` | [`spam_per_minute`](Self::spam_per_minute) | `0.2` (1 per 300 s) |
/// | `KEV_RECORDER_BURST` | [`spam_burst`](Self::spam_burst) | `25` |
/// | `KEV_RECORDER_CACHE_SIZE` | [`cache_size`](Self::cache_size) | `4096` |
/// | `KEV_RECORDER_QUEUE_SIZE` | [`queue_size`](Self::queue_size) | `1000` |
/// | `KEV_RECORDER_QUIET_COOLDOWN` | [`quiet_cooldown`](Self::quiet_cooldown) | unset (`5m`, `30s`) |
///
/// ```
/// use kev_recorder::RecorderConfig;
/// let vars = [("KEV_RECORDER_ENABLED", "false"), ("KEV_RECORDER_RATE_LIMIT_PER_MIN", "2")];
/// let c = RecorderConfig::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
/// assert!(!c.enabled);
/// assert_eq!(c.spam_per_minute, 2.0);
/// assert_eq!(c.spam_burst, 25);
/// let err = RecorderConfig::from_vars(|k| (k == "KEV_RECORDER_BURST").then(|| "lots".to_string())).unwrap_err();
/// assert_eq!(err.path, "KEV_RECORDER_BURST");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderConfig {
    /// Off: every event is dropped at once (`why="disabled"`) and no API call is made.
    pub enabled: bool,
    /// Spam filter: tokens per minute per (source, object, type). client-go: 1 per 300 s.
    pub spam_per_minute: f64,
    /// Spam filter: bucket size per (source, object, type). client-go: 25.
    pub spam_burst: u32,
    /// Keys remembered by the spam filter, the series cache and the core/v1 correlator
    /// (each). client-go: 4096.
    pub cache_size: usize,
    /// Events waiting for the writer task; past this they are dropped. client-go: 1000.
    pub queue_size: usize,
    /// "First occurrence, then quiet" for every event: at most one per (object, reason)
    /// per this long. Unset: only events with [`NewEvent::quiet_for`](super::NewEvent::quiet_for).
    pub quiet_cooldown: Option<Duration>,
    /// Tries per API write before the event is given up. client-go: 12.
    pub max_tries: u32,
    /// Sleep between tries (jittered). client-go: 10 s.
    pub retry_sleep: Duration,
    /// Timeout of one API request.
    pub request_timeout: Duration,
    /// A series not seen for this long gets its final PATCH and is forgotten. client-go: 6 min.
    pub series_finish: Duration,
    /// A live series is PATCHed at least this often, so its Event outlives the TTL. client-go: 30 min.
    pub series_heartbeat: Duration,
    /// core/v1: distinct messages of one key within [`aggregate_window`](Self::aggregate_window)
    /// before they are combined. client-go: 10.
    pub aggregate_max_events: usize,
    /// core/v1: the aggregation window. client-go: 600 s.
    pub aggregate_window: Duration,
    /// How often the writer checks for idle series and heartbeats.
    pub maintenance_interval: Duration,
    /// Redaction patterns for notes, as kev-core's `normalize.redact` (`default`: built-in).
    pub redact: Vec<String>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            spam_per_minute: 0.2,
            spam_burst: 25,
            cache_size: 4096,
            queue_size: 1000,
            quiet_cooldown: None,
            max_tries: 12,
            retry_sleep: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            series_finish: Duration::from_secs(6 * 60),
            series_heartbeat: Duration::from_secs(30 * 60),
            aggregate_max_events: 10,
            aggregate_window: Duration::from_secs(600),
            maintenance_interval: Duration::from_secs(10),
            redact: vec![kev_core::normalize::DEFAULT_PATTERNS.to_owned()],
        }
    }
}

impl RecorderConfig {
    /// The defaults with the `KEV_RECORDER_*` variables of this process applied.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults with the variables `lookup` knows applied; errors name the variable.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some(v) = lookup("KEV_RECORDER_ENABLED") {
            c.enabled = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::new(
                        "KEV_RECORDER_ENABLED",
                        format!("expected true or false, got {v:?}"),
                    ));
                }
            };
        }
        if let Some(v) = lookup("KEV_RECORDER_RATE_LIMIT_PER_MIN") {
            c.spam_per_minute = parse("KEV_RECORDER_RATE_LIMIT_PER_MIN", &v)?;
        }
        if let Some(v) = lookup("KEV_RECORDER_BURST") {
            c.spam_burst = parse("KEV_RECORDER_BURST", &v)?;
        }
        if let Some(v) = lookup("KEV_RECORDER_CACHE_SIZE") {
            c.cache_size = parse("KEV_RECORDER_CACHE_SIZE", &v)?;
        }
        if let Some(v) = lookup("KEV_RECORDER_QUEUE_SIZE") {
            c.queue_size = parse("KEV_RECORDER_QUEUE_SIZE", &v)?;
        }
        if let Some(v) = lookup("KEV_RECORDER_QUIET_COOLDOWN") {
            let d = parse_duration(v.trim())
                .map_err(|e| ConfigError::new("KEV_RECORDER_QUIET_COOLDOWN", e))?;
            c.quiet_cooldown = Some(d);
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the values; the error names the field.
    ///
    /// ```
    /// let c = kev_recorder::RecorderConfig { spam_burst: 0, ..Default::default() };
    /// assert_eq!(c.validate().unwrap_err().path, "spam_burst");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.spam_per_minute.is_finite() && self.spam_per_minute > 0.0) {
            return Err(ConfigError::new(
                "spam_per_minute",
                format!(
                    "must be a number greater than 0, got {}",
                    self.spam_per_minute
                ),
            ));
        }
        for (path, value) in [
            ("spam_burst", self.spam_burst as usize),
            ("cache_size", self.cache_size),
            ("queue_size", self.queue_size),
            ("max_tries", self.max_tries as usize),
            ("aggregate_max_events", self.aggregate_max_events),
        ] {
            if value == 0 {
                return Err(ConfigError::new(path, "must be at least 1"));
            }
        }
        for (path, value) in [
            ("request_timeout", self.request_timeout),
            ("series_finish", self.series_finish),
            ("series_heartbeat", self.series_heartbeat),
            ("aggregate_window", self.aggregate_window),
            ("maintenance_interval", self.maintenance_interval),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(path, "must be longer than 0"));
            }
        }
        if self.quiet_cooldown.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::new(
                "quiet_cooldown",
                "must be longer than 0; leave it unset for no cooldown",
            ));
        }
        Ok(())
    }
}

fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| ConfigError::new(name, format!("{value:?}: {e}")))
}
