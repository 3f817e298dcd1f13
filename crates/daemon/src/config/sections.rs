//! The sections of the config file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::{duration, opt_duration};
use kev_core::{FilterConfig, NormalizeConfig, RateLimitConfig, RuleConfig};
use serde::Deserialize;

use crate::backends::sinks::SinkConfig;
use crate::backends::source::SourceConfig;

/// The whole config file. Every section is optional; see `docs/config.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Cluster name stamped on every event (fleet queries filter on it). Default: empty.
    pub cluster: String,
    /// Where events come from. Default: the Kubernetes API of the current context.
    pub source: SourceConfig,
    /// Where history is kept. Default: redb at `./kev-data`.
    pub store: StoreConfig,
    /// Message size limit and secret redaction.
    pub normalize: NormalizeConfig,
    /// Which events are stored at all (`match` / `drop` rules). Default: all.
    pub filter: FilterConfig,
    /// Batching of the ingest side.
    pub pipeline: PipelineSection,
    /// Where stored events are delivered. None: every stored event is printed on stdout.
    pub routes: Vec<RouteConfig>,
    /// The HTTP listener for `/metrics`, `/healthz`, `/readyz`.
    pub server: ServerConfig,
    /// Labels of the event-volume metric `kev_events_total`.
    pub metrics: kev_core::pipeline::EventVolumeConfig,
    /// The state gauges `kev_objects_in_condition` and `kev_condition_seconds`.
    pub conditions: kev_core::condition::ConditionConfig,
    /// Routes declared by EventPolicy objects in the cluster. Default: none.
    pub policies: PoliciesConfig,
    /// Several replicas, one active: a `coordination.k8s.io/v1` Lease picks the leader.
    pub leader_election: LeaderElectionConfig,
}

/// `policies.source`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// Only the routes of the config file (the default).
    #[default]
    None,
    /// Watch EventPolicy objects (`kev.dev/v1alpha1`) and run one route per valid,
    /// enabled policy, changed live. Needs the `kube` feature and `source.type: kube`.
    Crd,
}

/// `policies:` — EventPolicy objects as live routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// `none` (default) or `crd`.
    pub source: PolicySource,
    /// Watch EventPolicies in this namespace only. Default: all namespaces.
    pub namespace: Option<String>,
    /// A policy's status is written at most this often, and only when it changed.
    /// Default `10s`.
    #[serde(deserialize_with = "duration")]
    pub status_interval: Duration,
    /// The Secrets that policies name in `secretRef` are read again this often; a
    /// changed one rebuilds the policy's route. Default `60s`.
    #[serde(deserialize_with = "duration")]
    pub secret_refresh: Duration,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        Self {
            source: PolicySource::None,
            namespace: None,
            status_interval: Duration::from_secs(10),
            secret_refresh: Duration::from_secs(60),
        }
    }
}

/// `leader_election:` — client-go's settings and defaults. A standby serves `/healthz`,
/// `/metrics` and `/readyz` but opens no store, watches nothing and delivers nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaderElectionConfig {
    /// Run as one of several replicas. Default false (this process always leads).
    pub enabled: bool,
    /// Namespace of the Lease. Default: `$POD_NAMESPACE`, else the service account's
    /// namespace, else the kubeconfig context's namespace.
    pub namespace: Option<String>,
    /// Name of the Lease. Default `kev`.
    pub lease_name: String,
    /// How long the others respect a Lease that stopped being renewed; whole seconds.
    /// Default `15s`.
    #[serde(deserialize_with = "duration")]
    pub lease_duration: Duration,
    /// How long the leader retries renewing before it stops leading. Default `10s`.
    #[serde(deserialize_with = "duration")]
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew. Default `2s`.
    #[serde(deserialize_with = "duration")]
    pub retry_period: Duration,
    /// This replica's `holderIdentity`. Default: `$POD_NAME`, else `hostname_pid`.
    pub identity: Option<String>,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            namespace: None,
            lease_name: "kev".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            identity: None,
        }
    }
}

/// `store.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StoreType {
    /// Embedded redb database (the default).
    Redb,
    /// Embedded sled database (needs the `sled` feature).
    Sled,
    /// In memory only: lost at exit.
    Memory,
}

/// `store:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `redb` (default), `sled` or `memory`.
    pub r#type: StoreType,
    /// Directory of the database. Default `./kev-data`.
    pub path: PathBuf,
    pub retention: RetentionConfig,
    /// Time between retention rounds. Default `1m`.
    #[serde(deserialize_with = "duration")]
    pub compaction_interval: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            r#type: StoreType::Redb,
            path: PathBuf::from("./kev-data"),
            retention: RetentionConfig::default(),
            compaction_interval: Duration::from_secs(60),
        }
    }
}

/// `store.retention:` soft limits keep what a route has not delivered; hard caps do not.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Events older than this go. Default `7d`.
    #[serde(deserialize_with = "opt_duration")]
    pub max_age: Option<Duration>,
    /// At most this many events are kept. Default: no limit.
    pub max_events: Option<u64>,
    /// At most this many bytes of encoded events. Default: no limit.
    pub max_bytes: Option<u64>,
    /// Hard cap: beyond it the oldest go even if undelivered (counted in
    /// `kev_store_evicted_undelivered_total`). Default: no cap.
    pub hard_max_events: Option<u64>,
    /// Hard cap on bytes, as `hard_max_events`.
    pub hard_max_bytes: Option<u64>,
    /// How long a removed event's key is remembered, so that a relist sending it again
    /// neither stores nor delivers it twice. Default `1d`; `0s` forgets at once.
    #[serde(deserialize_with = "opt_duration")]
    pub remember_removed: Option<Duration>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(7 * 86_400)),
            max_events: None,
            max_bytes: None,
            hard_max_events: None,
            hard_max_bytes: None,
            remember_removed: Some(Duration::from_secs(86_400)),
        }
    }
}

impl RetentionConfig {
    /// Core's retention has no defaults of the file's own (`max_age: 7d`), so the file
    /// has this section and converts it.
    pub fn to_retention(&self) -> kev_core::Retention {
        kev_core::Retention {
            max_age: self.max_age,
            max_events: self.max_events,
            max_bytes: self.max_bytes,
            hard_max_events: self.hard_max_events,
            hard_max_bytes: self.hard_max_bytes,
            remember_removed: self.remember_removed.filter(|d| !d.is_zero()),
        }
    }
}

/// `pipeline:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Events per store transaction. Default 500.
    pub batch_max_events: usize,
    /// How long a partial batch waits before it is stored. Default `10ms`.
    #[serde(deserialize_with = "duration")]
    pub batch_max_delay: Duration,
    /// How long routes may take at shutdown to deliver what is stored. Default `30s`.
    #[serde(deserialize_with = "duration")]
    pub drain_timeout: Duration,
}

impl Default for PipelineSection {
    fn default() -> Self {
        let d = kev_core::pipeline::PipelineConfig::default();
        Self {
            batch_max_events: d.batch_max_events,
            batch_max_delay: d.batch_max_delay,
            drain_timeout: d.drain_timeout,
        }
    }
}

/// `routes[]`: filter → rate limit → sinks, from the store log at the route's own cursor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name; also the route's cursor key and its `route` metric label.
    pub name: String,
    /// Rules an event must match (any of them) to take this route. Empty: all events.
    #[serde(default, rename = "match")]
    pub r#match: Vec<RuleConfig>,
    /// Rules that drop an event from this route (any of them).
    #[serde(default)]
    pub drop: Vec<RuleConfig>,
    /// Per-key token bucket, cooldown and global cap. Default: no limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Events per delivery and how long a partial batch waits.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Backoff of retryable failures.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Fire only after `min_occurrences` of one problem within `window`, then not again
    /// for `cooldown` (kept in the store, so restarts do not fire twice). For
    /// remediation routes.
    #[serde(default)]
    pub remediation: Option<kev_core::RemediationConfig>,
    /// Context gathered for each event before its sinks: related events from the store,
    /// and with a Kubernetes source pod logs and the object's spec (secrets stripped).
    #[serde(default)]
    pub enrich: Option<kev_core::EnrichConfig>,
    /// Where this route delivers; every sink acknowledges before the cursor moves.
    pub sinks: Vec<SinkConfig>,
}

impl RouteConfig {
    pub fn filter_config(&self) -> FilterConfig {
        FilterConfig {
            r#match: self.r#match.clone(),
            drop: self.drop.clone(),
        }
    }

    /// The route's batching and retry settings in core's terms.
    pub fn sink_policy(&self) -> kev_core::pipeline::SinkPolicy {
        kev_core::pipeline::SinkPolicy {
            max_events: self.batch.max_events,
            max_delay: self.batch.max_delay,
            retry_initial: self.retry.initial,
            retry_max: self.retry.max,
        }
    }
}

/// `routes[].batch:`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Events per delivery. Default 100.
    pub max_events: usize,
    /// How long a partial batch waits for more events. Default `0s` (send at once).
    #[serde(deserialize_with = "duration")]
    pub max_delay: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        let d = kev_core::pipeline::SinkPolicy::default();
        Self {
            max_events: d.max_events,
            max_delay: d.max_delay,
        }
    }
}

/// `routes[].retry:`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First delay after a retryable failure. Default `200ms`.
    #[serde(deserialize_with = "duration")]
    pub initial: Duration,
    /// Delays double up to this. Default `30s`.
    #[serde(deserialize_with = "duration")]
    pub max: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        let d = kev_core::pipeline::SinkPolicy::default();
        Self {
            initial: d.retry_initial,
            max: d.retry_max,
        }
    }
}

/// `server:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of `/metrics`, `/healthz`, `/readyz`. Unset: `127.0.0.1:9464` for a
    /// daemon source (kube, nats), no listener for a replay, which is a local command.
    /// Binding all interfaces (`0.0.0.0:9464`, as the manifests and the chart do) is
    /// the user's choice.
    pub listen: Option<String>,
    /// Set false to run without the HTTP listener.
    pub enabled: bool,
    /// Address of the local read API (`/api/v1/events`, `/log`, `/stats`,
    /// `/dead-letters`) that `kev query`/`tail`/`stats` use while `kev run` holds the
    /// store. It serves event history, so it is loopback and not exposed with the
    /// metrics. Unset: `127.0.0.1:9465`, none for a replay. `off` disables it.
    pub api_listen: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: None,
            enabled: true,
            api_listen: None,
        }
    }
}

/// Where `server.listen` binds when it is unset and the source is a daemon's.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
/// Where `server.api_listen` binds when it is unset and the source is a daemon's, and
/// where a client looks for a running kev whose config does not say.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:9465";

impl ServerConfig {
    pub fn api_enabled(&self) -> bool {
        self.api_listen.as_deref() != Some("off")
    }

    /// Where a local client reaches the API (an unspecified bind address means loopback).
    pub fn api_connect_address(&self) -> String {
        let listen = self.api_listen.as_deref().unwrap_or(DEFAULT_API_LISTEN);
        match listen.parse::<SocketAddr>() {
            Ok(addr) if addr.ip().is_unspecified() => format!("127.0.0.1:{}", addr.port()),
            _ => listen.to_owned(),
        }
    }
}
