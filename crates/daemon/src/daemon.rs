//! [`Daemon`]: `kev run` — servers, signals, leader election, the pipeline with its
//! compactor and EventPolicies, until the source ends or a signal stops it.

use std::sync::Arc;
use std::time::Duration;

use kev_core::condition::{ConditionClock, ConditionTracker};

use kev_core::pipeline::CompactorConfig;
use tokio_util::sync::CancellationToken;

use crate::assemble::assemble;
use crate::backends::cluster;
use crate::backends::source::{KubeClient, SourceConfig};
use crate::config::ValidatedConfig;
use crate::error::{DaemonError, chain_message};
use crate::server::{self, Readiness};

/// A run of kev from a validated config.
#[derive(Debug)]
pub struct Daemon {
    config: ValidatedConfig,
}

impl Daemon {
    pub fn from_config(config: ValidatedConfig) -> Self {
        Self { config }
    }

    /// Runs on a runtime of its own until the source ends (a replay) or SIGINT/SIGTERM;
    /// a second signal exits the process at once.
    pub fn run(self) -> Result<(), DaemonError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let outcome = runtime.block_on(self.serve());
        // A leader that lost its lease may leave a pipeline task behind: do not wait on it.
        runtime.shutdown_timeout(Duration::from_secs(2));
        outcome
    }

    async fn serve(self) -> Result<(), DaemonError> {
        let config = &self.config;
        let metrics = server::install_metrics()?;
        let shutdown = CancellationToken::new();
        spawn_signal_handler(shutdown.clone());

        // One client, one qps budget, for the source, enrichment and EventPolicies; leader
        // election has its own, so that a renewal never waits behind their requests.
        let kube = config.raw().source.kube_client().await?;
        let candidate = cluster::candidate(config.raw()).await?;
        let readiness = Readiness::default();
        if let Some(c) = &candidate {
            readiness.set_role(cluster::is_leader(c));
        }
        let conditions = condition_tracker(config);
        let server_stop = CancellationToken::new();
        let mut servers = Vec::new();
        if let Some(listen) = config.listen {
            let exposition = server::Exposition {
                metrics,
                conditions: conditions.clone(),
            };
            servers.push(
                server::serve(listen, exposition, readiness.clone(), server_stop.clone()).await?,
            );
        }
        let leading = |stop| {
            let conditions = conditions.clone();
            lead(
                config,
                kube.as_ref(),
                &readiness,
                conditions,
                stop,
                &server_stop,
            )
        };
        let outcome = match candidate {
            Some(c) => cluster::run_elected(c, shutdown, leading).await,
            None => leading(shutdown).await,
        };
        server_stop.cancel();
        for server in servers {
            let _ = server.await;
        }
        outcome
    }
}

/// The state gauges' tracker, shared by the pipeline and `/metrics`; a replay measures
/// the quiet period on the clock of its events.
fn condition_tracker(config: &ValidatedConfig) -> Option<Arc<ConditionTracker>> {
    let raw = config.raw();
    let mut conditions = raw.conditions.clone();
    if raw.source.is_replay() {
        conditions.clock = ConditionClock::Events;
    }
    conditions
        .enabled
        .then(|| Arc::new(ConditionTracker::new(conditions)))
}

/// What the leader (or a run without election) does: open the store, connect the
/// source, serve the read API and run the pipeline until `stop`.
async fn lead(
    config: &ValidatedConfig,
    kube: Option<&KubeClient>,
    readiness: &Readiness,
    conditions: Option<Arc<ConditionTracker>>,
    stop: CancellationToken,
    server_stop: &CancellationToken,
) -> Result<(), DaemonError> {
    let raw = config.raw();
    let parts = assemble(config, kube)?;
    readiness.set_checks(parts.readiness);
    let mut pipeline = parts.pipeline;
    if let Some(tracker) = conditions {
        pipeline = pipeline.conditions(tracker);
    }
    let api_stop = server_stop.child_token();
    let api = match config.api_listen {
        Some(listen) => Some(
            crate::api::server::serve(
                listen,
                kev_core::store::AsyncStore::new(parts.store.clone()),
                pipeline.route_control(),
                api_stop.clone(),
            )
            .await?,
        ),
        None => None,
    };

    // A replay is an import of history that may be years old: retention by age would
    // remove it as soon as it is stored, so it applies to live sources only.
    if !raw.source.is_replay() {
        pipeline = pipeline.compactor(CompactorConfig {
            retention: raw.store.retention.to_retention(),
            interval: raw.store.compaction_interval,
            ..CompactorConfig::default()
        });
    }
    let policies_stop = stop.child_token();
    let policies = cluster::start_policies(raw, kube, &mut pipeline, &parts.store, &policies_stop);
    let report = pipeline.run(stop).await;
    if let Some(task) = policies {
        policies_stop.cancel();
        match task.await {
            Ok(Err(e)) => tracing::error!(error = %chain_message(&e), "EventPolicy watch failed"),
            Err(e) => tracing::error!(error = %e, "EventPolicy watch task failed"),
            Ok(Ok(())) => {}
        }
    }
    api_stop.cancel();
    if let Some(api) = api {
        let _ = api.await;
    }
    let report = report?;
    if let (Some(progress), SourceConfig::Replay { path }) = (&parts.replay, &raw.source)
        && let Some(e) = crate::replay_check::nothing_read(path, &progress.snapshot())
    {
        return Err(e);
    }
    tracing::info!(
        received = report.received,
        stored = report.stored,
        duplicates = report.duplicates,
        normalize_errors = report.normalize_errors,
        filtered = report.filtered,
        "pipeline stopped"
    );
    for route in &report.routes {
        tracing::info!(
            route = %route.route,
            delivered = route.delivered,
            limited = route.limited,
            suppressed = route.suppressed,
            dead_lettered = route.dead_lettered,
            cursor = route.cursor,
            "route stopped"
        );
    }
    Ok(())
}

/// SIGINT or SIGTERM starts a graceful shutdown; a second one exits at once.
fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        for round in 0..2 {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            if round == 0 {
                tracing::info!(
                    "shutting down: storing the batch in hand and draining routes (signal again to exit now)"
                );
                shutdown.cancel();
            } else {
                std::process::exit(130);
            }
        }
    });
}
