//! `source:` — which [`EventSource`] a run reads, and the one kube client of a kube
//! source.

use kev_core::config::ConfigError;
use kev_core::source::replay::ReplayProgress;
use kev_core::{EventSource, ReplaySource};
use serde::Deserialize;

use crate::error::DaemonError;
use crate::server::Check;

/// `source:` — `type: kube | replay | nats`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Watch Events through the Kubernetes API.
    #[cfg(feature = "kube")]
    Kube(kev_kube_source::KubeSourceConfig),
    /// Read a file (`path: events.json`) or standard input (`path: "-"`) once.
    Replay {
        /// File to read, or `-` for standard input.
        path: String,
    },
    /// Fleet mode, central side: a durable JetStream pull consumer fed by agents'
    /// `nats` sinks.
    #[cfg(feature = "nats")]
    Nats(Box<super::sinks::NatsSourceConfig>),
}

/// An opened source, with the readiness checks it brings for `/readyz` and, for a
/// replay, the handle on what it read.
pub struct OpenedSource {
    pub source: Box<dyn EventSource>,
    pub checks: Vec<Check>,
    pub replay: Option<ReplayProgress>,
}

impl std::fmt::Debug for OpenedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSource")
            .field("source", &self.source.id())
            .field("checks", &self.checks.len())
            .field("replay", &self.replay)
            .finish()
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        #[cfg(feature = "kube")]
        return Self::Kube(kev_kube_source::KubeSourceConfig::default());
        #[cfg(not(feature = "kube"))]
        return Self::Replay { path: "-".into() };
    }
}

/// The client of the kube source (see [`SourceConfig::kube_client`]); enrichment reads
/// logs and specs from the same cluster as the events.
#[cfg(feature = "kube")]
pub type KubeClient = kube::Client;
/// Without the `kube` feature there is no client: `Option<&KubeClient>` is always `None`.
#[cfg(not(feature = "kube"))]
pub type KubeClient = std::convert::Infallible;

impl SourceConfig {
    /// `--source SPEC` (`kube`, or `replay:PATH`), with `--context` for a kube source.
    pub fn from_flag(spec: &str, context: Option<&str>) -> Result<Self, DaemonError> {
        if let Some(path) = spec.strip_prefix("replay:") {
            if context.is_some() {
                return Err(DaemonError::Usage(
                    "--context goes with --source kube, not a replay".into(),
                ));
            }
            return Ok(Self::Replay {
                path: path.to_owned(),
            });
        }
        #[cfg(feature = "kube")]
        if spec == "kube" {
            let mut source = Self::Kube(Default::default());
            if let Some(context) = context {
                source.set_context(context)?;
            }
            return Ok(source);
        }
        Err(DaemonError::Usage(format!(
            "--source {spec:?}: expected `kube` or `replay:PATH` (`replay:-` for stdin){}",
            if cfg!(feature = "kube") {
                ""
            } else {
                "; this kev was built without the `kube` feature"
            }
        )))
    }

    /// `--context`: the kube context of a kube source.
    pub fn set_context(&mut self, context: &str) -> Result<(), DaemonError> {
        #[cfg(not(feature = "kube"))]
        let _ = context;
        match self {
            #[cfg(feature = "kube")]
            Self::Kube(kube) => {
                kube.context = Some(context.to_owned());
                Ok(())
            }
            _ => Err(DaemonError::Usage(
                "--context goes with --source kube".into(),
            )),
        }
    }

    pub fn is_kube(&self) -> bool {
        #[cfg(feature = "kube")]
        if let Self::Kube(_) = self {
            return true;
        }
        false
    }

    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replay { .. })
    }

    /// The checks of `source:` that need no IO, each error under `source`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Replay { path } if path.is_empty() => Err(ConfigError::new(
                "source.path",
                "must name a file or `-` for stdin",
            )),
            Self::Replay { .. } => Ok(()),
            #[cfg(feature = "kube")]
            Self::Kube(kube) => kube.validate().map_err(|e| e.within("source")),
            #[cfg(feature = "nats")]
            Self::Nats(nats) => nats.validate().map_err(|e| e.within("source")),
        }
    }

    /// The one client of a kube source: the source, the enricher and the EventPolicy
    /// watch all use it, so its `qps`/`burst` budget covers all their requests (leader
    /// election has a client of its own). `None` for other sources.
    pub async fn kube_client(&self) -> Result<Option<KubeClient>, DaemonError> {
        #[cfg(feature = "kube")]
        if let Self::Kube(kube) = self {
            let client = kev_kube_source::build_client(kube)
                .await
                .map_err(|e| DaemonError::Backend(Box::new(e)))?;
            return Ok(Some(client));
        }
        Ok(None)
    }

    /// Opens the source, with the readiness checks it brings for `/readyz`; `kube` is the
    /// client from [`kube_client`](Self::kube_client) for a kube source.
    #[cfg_attr(not(feature = "kube"), allow(unused_variables))]
    pub fn open(&self, kube: Option<&KubeClient>) -> Result<OpenedSource, DaemonError> {
        let backend = DaemonError::Backend;
        match self {
            Self::Replay { path } => {
                let source = ReplaySource::open(path).map_err(|e| backend(Box::new(e)))?;
                Ok(OpenedSource {
                    replay: Some(source.progress()),
                    source: Box::new(source),
                    checks: Vec::new(),
                })
            }
            #[cfg(feature = "kube")]
            Self::Kube(config) => {
                let client = kube
                    .cloned()
                    .ok_or_else(|| backend("the kube source is opened with its client".into()))?;
                let source = kev_kube_source::KubeSource::with_client(client, config.clone())
                    .map_err(|e| backend(Box::new(e)))?;
                let health = source.health();
                let check: Check = ("watch".into(), Box::new(move || health.is_ready()));
                Ok(OpenedSource {
                    source: Box::new(source),
                    checks: vec![check],
                    replay: None,
                })
            }
            #[cfg(feature = "nats")]
            Self::Nats(nats) => Ok(OpenedSource {
                source: Box::new(nats.build()?),
                checks: Vec::new(),
                replay: None,
            }),
        }
    }
}
