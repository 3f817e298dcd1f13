//! What a run does with the Kubernetes API besides watching: leader election and the
//! EventPolicy watch. Without the `kube` feature neither exists (validation refuses
//! `leader_election.enabled` and `policies.source: crd`), and these answer "none".

use std::future::Future;
use std::sync::Arc;

use kev_core::Store;
use kev_core::pipeline::Pipeline;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::source::KubeClient;
use crate::config::RawConfig;
use crate::error::DaemonError;

#[cfg(feature = "kube")]
pub use crate::leader::Candidate;

/// Without the `kube` feature there is no candidacy: this type has no value.
#[cfg(not(feature = "kube"))]
#[derive(Debug)]
pub enum Candidate {}

/// This replica's candidacy when `leader_election.enabled`.
pub async fn candidate(config: &RawConfig) -> Result<Option<Candidate>, DaemonError> {
    #[cfg(feature = "kube")]
    return crate::leader::candidate(config).await;
    #[cfg(not(feature = "kube"))]
    {
        let _ = config;
        Ok(None)
    }
}

/// Whether `candidate` leads now, for `/readyz`.
pub fn is_leader(candidate: &Candidate) -> Box<dyn Fn() -> bool + Send + Sync> {
    #[cfg(feature = "kube")]
    {
        let status = candidate.status();
        Box::new(move || status.is_leader())
    }
    #[cfg(not(feature = "kube"))]
    match *candidate {}
}

/// Runs `lead` while `candidate` holds the Lease (see [`crate::leader::run_elected`]).
pub async fn run_elected<F, Fut>(
    candidate: Candidate,
    shutdown: CancellationToken,
    lead: F,
) -> Result<(), DaemonError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), DaemonError>>,
{
    #[cfg(feature = "kube")]
    return crate::leader::run_elected(candidate, shutdown, lead).await;
    #[cfg(not(feature = "kube"))]
    {
        let _ = (shutdown, lead);
        match candidate {}
    }
}

/// With `policies.source: crd` and a kube client, the EventPolicy watch, changing the
/// routes of `pipeline` until `shutdown`.
#[cfg_attr(not(feature = "kube"), allow(unused_variables))]
pub fn start_policies(
    config: &RawConfig,
    kube: Option<&KubeClient>,
    pipeline: &mut Pipeline,
    store: &Arc<dyn Store>,
    shutdown: &CancellationToken,
) -> Option<JoinHandle<Result<(), DaemonError>>> {
    #[cfg(feature = "kube")]
    {
        let client = kube.cloned()?;
        if config.policies.source != crate::config::PolicySource::Crd {
            return None;
        }
        let settings = crate::policy::PolicySettings {
            client,
            namespace: config.policies.namespace.clone(),
            status_interval: config.policies.status_interval,
            secret_refresh: config.policies.secret_refresh,
        };
        Some(tokio::spawn(crate::policy::run(
            settings,
            pipeline.route_control(),
            Arc::clone(store),
            shutdown.clone(),
        )))
    }
    #[cfg(not(feature = "kube"))]
    None
}
