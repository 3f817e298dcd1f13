//! [`KubeSourceConfig`]: what to watch and how to reconnect (`source: {type: kube, …}`).

use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::{ConfigError, duration};
use serde::Deserialize;

/// Which Event API the source watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiChoice {
    /// core/v1 Events (`/api/v1/events`), what `kubectl get events` shows.
    #[default]
    Core,
    /// events.k8s.io/v1 Events (`/apis/events.k8s.io/v1/events`).
    Events,
    /// Both; the same object seen through both groups is stored once (the store
    /// deduplicates by uid + resourceVersion, which are the same in both groups).
    Both,
}

impl ApiChoice {
    /// The groups to watch, as [`Api`] values.
    pub fn apis(self) -> &'static [Api] {
        match self {
            Self::Core => &[Api::Core],
            Self::Events => &[Api::Events],
            Self::Both => &[Api::Core, Api::Events],
        }
    }
}

/// One watched API group; its name is the `api` metric label and the checkpoint key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Core,
    Events,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Events => "events",
        }
    }

    /// The group/version, for logs.
    pub fn group_version(self) -> &'static str {
        match self {
            Self::Core => "core/v1",
            Self::Events => "events.k8s.io/v1",
        }
    }
}

/// The `source` block for `type: kube`. Every field has a default; an empty block
/// watches core/v1 Events in all namespaces.
///
/// ```
/// use kev_kube_source::{ApiChoice, KubeSourceConfig};
/// let c: KubeSourceConfig = serde_json::from_str(r#"{"api":"both","namespaces":["web"],"stall_timeout":"2m"}"#).unwrap();
/// assert_eq!(c.api, ApiChoice::Both);
/// assert_eq!(c.stall_timeout, std::time::Duration::from_secs(120));
/// assert!(c.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubeSourceConfig {
    /// `core` (default), `events` or `both`.
    pub api: ApiChoice,
    /// Namespaces to watch, one watch each; empty (default): all namespaces, one watch.
    pub namespaces: Vec<String>,
    /// Field selector passed to the API server, e.g. `type=Warning`.
    pub field_selector: Option<String>,
    /// Label selector passed to the API server, e.g. `team=web`.
    pub label_selector: Option<String>,
    /// Items per page of the initial list and of relists (`limit`), default 500.
    pub page_size: u32,
    /// First reconnect delay; it doubles up to `backoff_max`, with jitter. Default 1s.
    #[serde(deserialize_with = "duration")]
    pub backoff_initial: Duration,
    /// Largest reconnect delay. Default 60s.
    #[serde(deserialize_with = "duration")]
    pub backoff_max: Duration,
    /// Consecutive failed connects after which the source reports not-ready and logs at
    /// error level. Default 5.
    pub failure_threshold: u32,
    /// A watch that delivered neither an event nor a bookmark for this long is restarted
    /// (`kev_watch_restarts_total{reason="stalled"}`) and readiness fails. Default 5m.
    #[serde(deserialize_with = "duration")]
    pub stall_timeout: Duration,
    /// Server-side timeout of one watch request (`timeoutSeconds`); the watch is then
    /// resumed from where it was. Default 290s, as client-go's reflector (5 min at most).
    #[serde(deserialize_with = "duration")]
    pub watch_timeout: Duration,
    /// Events whose message (core/v1) or note (events.k8s.io/v1) is longer are skipped
    /// and counted (`kev_source_errors_total{source="kube",reason="oversized"}`).
    /// Default 256 KiB; the normalizer truncates what passes to `max_message_bytes`.
    pub max_message_bytes: usize,
    /// kubeconfig file; default: `$KUBECONFIG`, else `~/.kube/config`. Used only when
    /// not running in a pod.
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context; default: the current context.
    pub context: Option<String>,
    /// Requests per second the kube client may make after a burst, as client-go's
    /// `QPS`; default 50. client-go's 5 suits a controller that writes; kev only lists,
    /// watches and reads context, and a relist of many namespaces needs more. `0`: no
    /// limit. A watch counts once, when it connects.
    pub qps: f64,
    /// Requests that may go at once before `qps` paces them, as client-go's `Burst`;
    /// default 100. At least 1 when `qps` is above 0.
    pub burst: u32,
    /// Read each involved object's owner chain from its `ownerReferences` (one GET per
    /// object not seen before, inside `qps`); default true. Off: the chain its name
    /// shows, as in a replay.
    pub owners: bool,
    /// Objects whose owner chains are remembered, default 10000; at least 1.
    pub owner_cache: usize,
}

impl Default for KubeSourceConfig {
    fn default() -> Self {
        Self {
            api: ApiChoice::Core,
            namespaces: Vec::new(),
            field_selector: None,
            label_selector: None,
            page_size: 500,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            failure_threshold: 5,
            stall_timeout: Duration::from_secs(300),
            watch_timeout: Duration::from_secs(290),
            max_message_bytes: 256 * 1024,
            kubeconfig: None,
            context: None,
            qps: 50.0,
            burst: 100,
            owners: true,
            owner_cache: 10_000,
        }
    }
}

impl KubeSourceConfig {
    /// Checks values serde cannot: ranges, namespace names, duplicates. No IO.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.page_size == 0 {
            return Err(ConfigError::new("page_size", "must be at least 1"));
        }
        if self.backoff_initial.is_zero() {
            return Err(ConfigError::new("backoff_initial", "must be more than 0"));
        }
        if self.backoff_max < self.backoff_initial {
            return Err(ConfigError::new(
                "backoff_max",
                "must not be less than backoff_initial",
            ));
        }
        if self.failure_threshold == 0 {
            return Err(ConfigError::new("failure_threshold", "must be at least 1"));
        }
        if self.stall_timeout < Duration::from_secs(1) {
            return Err(ConfigError::new("stall_timeout", "must be at least 1s"));
        }
        if self.watch_timeout < Duration::from_secs(1) {
            return Err(ConfigError::new("watch_timeout", "must be at least 1s"));
        }
        if !self.qps.is_finite() || self.qps < 0.0 {
            return Err(ConfigError::new(
                "qps",
                format!(
                    "must be a number of requests per second, 0 or more (0: no limit), not {}",
                    self.qps
                ),
            ));
        }
        if self.qps > 0.0 && self.burst == 0 {
            return Err(ConfigError::new(
                "burst",
                "must be at least 1 when qps is above 0 (set qps: 0 for no limit)",
            ));
        }
        if self.owners && self.owner_cache == 0 {
            return Err(ConfigError::new(
                "owner_cache",
                "must be at least 1 (set owners: false to read no owners)",
            ));
        }
        if self.max_message_bytes == 0 {
            return Err(ConfigError::new("max_message_bytes", "must be at least 1"));
        }
        for (i, ns) in self.namespaces.iter().enumerate() {
            if !is_dns_label(ns) {
                return Err(ConfigError::new(
                    format!("namespaces[{i}]"),
                    format!(
                        "{ns:?} is not a valid namespace name (lowercase letters, digits and '-', at most 63)"
                    ),
                ));
            }
            if self.namespaces[..i].contains(ns) {
                return Err(ConfigError::new(
                    format!("namespaces[{i}]"),
                    format!("{ns:?} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_bad_values_are_refused_with_their_path() {
        let e = serde_json::from_str::<KubeSourceConfig>(r#"{"namespace":["a"]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `namespace`"), "{e}");
        let e = serde_json::from_str::<KubeSourceConfig>(r#"{"stall_timeout":"5 parsecs"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("invalid duration"), "{e}");
        let c: KubeSourceConfig =
            serde_json::from_str(r#"{"namespaces":["ok","Bad_Name"]}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().path, "namespaces[1]");
        let c = KubeSourceConfig {
            backoff_max: Duration::from_millis(1),
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().path, "backoff_max");
        let c: KubeSourceConfig = serde_json::from_str(r#"{"owner_cache":0}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().path, "owner_cache");
        assert!(KubeSourceConfig::default().validate().is_ok());
    }

    #[test]
    fn qps_and_burst_default_to_50_and_100_and_are_checked() {
        let c: KubeSourceConfig = serde_json::from_str("{}").unwrap();
        assert_eq!((c.qps, c.burst), (50.0, 100));
        let c: KubeSourceConfig = serde_json::from_str(r#"{"qps":0,"burst":0}"#).unwrap();
        assert!(
            c.validate().is_ok(),
            "qps 0 is unlimited, burst then unused"
        );
        let c: KubeSourceConfig = serde_json::from_str(r#"{"qps":-1}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().path, "qps");
        let c: KubeSourceConfig = serde_json::from_str(r#"{"qps":20,"burst":0}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().path, "burst");
        let c = KubeSourceConfig {
            qps: f64::NAN,
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().path, "qps");
        let e = serde_json::from_str::<KubeSourceConfig>(r#"{"burst":-5}"#).unwrap_err();
        assert!(
            e.to_string().contains("burst") || e.to_string().contains("invalid value"),
            "{e}"
        );
    }
}
