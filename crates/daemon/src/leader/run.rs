//! [`run_elected`]: `kev run` as one of several replicas. A standby waits for the
//! Lease without opening the store; the leader runs the pipeline while it renews; a
//! leader that loses the Lease stops its pipeline within what is left of the Lease and
//! exits non-zero, so the pod restarts as a standby (client-go's `OnStoppedLeading`).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::elector::{self, HoldEnd, LeaderElector, LeaderStatus, LeaseConfig};
use crate::backends::source::SourceConfig;
use crate::config::{LeaderElectionConfig, RawConfig};
use crate::error::DaemonError;

/// This replica's candidacy.
#[derive(Debug)]
pub struct Candidate {
    elector: LeaderElector,
}

impl Candidate {
    pub fn status(&self) -> LeaderStatus {
        self.elector.status()
    }
}

/// A candidate when `leader_election.enabled`: the Lease client uses the kube source's
/// kubeconfig and context (else the in-cluster account or the default kubeconfig).
pub async fn candidate(config: &RawConfig) -> Result<Option<Candidate>, DaemonError> {
    let le = &config.leader_election;
    if !le.enabled {
        return Ok(None);
    }
    let source = match &config.source {
        SourceConfig::Kube(kube) => kube.clone(),
        _ => kev_kube_source::KubeSourceConfig::default(),
    };
    let client = kev_kube_source::build_client(&source)
        .await
        .map_err(|e| DaemonError::Backend(Box::new(e)))?;
    let lease = lease_config(le, client.default_namespace());
    tracing::info!(
        namespace = %lease.namespace,
        lease = %lease.lease_name,
        identity = %lease.identity,
        "leader election: starting as a standby"
    );
    Ok(Some(Candidate {
        elector: LeaderElector::new(client, lease),
    }))
}

fn lease_config(le: &LeaderElectionConfig, client_namespace: &str) -> LeaseConfig {
    let namespace = le
        .namespace
        .clone()
        .or_else(elector::default_namespace)
        .unwrap_or_else(|| client_namespace.to_owned());
    let identity = le
        .identity
        .clone()
        .unwrap_or_else(elector::default_identity);
    LeaseConfig {
        lease_duration: le.lease_duration,
        renew_deadline: le.renew_deadline,
        retry_period: le.retry_period,
        ..LeaseConfig::new(&namespace, &le.lease_name, &identity)
    }
}

/// Waits to lead, then runs `lead(stop)` (store, source, pipeline) while renewing.
/// Stopping `shutdown` as a standby ends at once; as the leader it stops the pipeline
/// (bounded drain) and then releases the Lease, after the store is closed, so the next
/// leader can open it.
pub async fn run_elected<F, Fut>(
    mut candidate: Candidate,
    shutdown: CancellationToken,
    lead: F,
) -> Result<(), DaemonError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), DaemonError>>,
{
    let elector = &mut candidate.elector;
    if !elector.acquire(&shutdown).await {
        tracing::info!("stopped while a standby");
        return Ok(());
    }
    let stop = CancellationToken::new();
    let retry = elector.config().retry_period;
    let lease = elector.config().lease_name.clone();
    let leading = lead_when_unlocked(&lead, stop.clone(), retry);
    tokio::pin!(leading);
    let end = tokio::select! {
        out = &mut leading => {
            // The pipeline ended by itself (a finished replay, or an error).
            release(elector).await;
            return out;
        }
        end = elector.hold(&shutdown) => end,
    };
    stop.cancel();
    match end {
        HoldEnd::Cancelled => {
            let out = leading.await;
            release(elector).await;
            out
        }
        HoldEnd::Lost { valid_for } => {
            tracing::error!(
                ?valid_for,
                "lost the leader lease: stopping the pipeline before the others may take over"
            );
            if tokio::time::timeout(valid_for, leading).await.is_err() {
                tracing::error!("the pipeline did not stop within the lease; exiting anyway");
            }
            Err(DaemonError::LeaseLost { lease })
        }
    }
}

/// The previous leader may still be closing the store (its drain, or the kernel
/// releasing a killed process's lock): retry while it is locked, until `stop`.
async fn lead_when_unlocked<F, Fut>(
    lead: &F,
    stop: CancellationToken,
    retry: Duration,
) -> Result<(), DaemonError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), DaemonError>>,
{
    loop {
        match lead(stop.clone()).await {
            Err(e) if e.is_locked() && !stop.is_cancelled() => {
                tracing::warn!(error = %e, "leading, but the store is still locked; retrying");
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(retry) => {}
                }
            }
            other => return other,
        }
    }
}

async fn release(elector: &mut LeaderElector) {
    if let Err(e) = elector.release().await {
        tracing::warn!(error = %e, "cannot release the leader lease; the others take over when it expires");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_namespace_and_identity_win_over_the_defaults() {
        let le = LeaderElectionConfig {
            enabled: true,
            namespace: Some("ops".into()),
            identity: Some("pod-a".into()),
            ..LeaderElectionConfig::default()
        };
        let lease = lease_config(&le, "default");
        assert_eq!(lease.namespace, "ops");
        assert_eq!(lease.identity, "pod-a");
        assert_eq!(lease.lease_name, "kev");
        assert_eq!(lease.renew_deadline, Duration::from_secs(10));
    }
}
