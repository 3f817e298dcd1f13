//! `kev run` / `kev replay`: the daemon.

use std::net::SocketAddr;
use std::process::ExitCode;

use kev_core::pipeline::CompactorConfig;
use tokio_util::sync::CancellationToken;

use crate::assemble;
use crate::cli::RunArgs;
#[cfg(feature = "kube")]
use crate::config::PolicySource;
use crate::config::{ConfigErrors, RawConfig, SourceConfig};
use crate::exit::UsageError;
use crate::server;

pub fn run(args: RunArgs, replay: Option<String>) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => RawConfig::load(path, std::env::vars())?,
        None => RawConfig::from_env(std::env::vars())?,
    };
    apply_flags(&mut config, &args, replay)?;
    let errors = config.validate();
    if !errors.is_empty() {
        let origin = args
            .config
            .as_ref()
            .map_or_else(|| "(flags)".into(), |p| p.display().to_string());
        return Err(ConfigErrors { origin, errors }.into());
    }
    let runtime = super::runtime()?;
    let outcome = runtime.block_on(run_pipeline(config, args));
    // A leader that lost its lease may leave a pipeline task behind: do not wait on it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome
}

/// Command-line flags win over the config file and the environment.
fn apply_flags(
    config: &mut RawConfig,
    args: &RunArgs,
    replay: Option<String>,
) -> anyhow::Result<()> {
    let source = replay
        .map(|path| format!("replay:{path}"))
        .or_else(|| args.source.clone());
    if let Some(spec) = source {
        config.source = parse_source(&spec, args.context.as_deref())?;
    } else if let Some(context) = &args.context {
        set_context(&mut config.source, context)?;
    }
    if let Some(store) = args.store {
        config.store.r#type = store;
    }
    if let Some(path) = &args.store_path {
        config.store.path.clone_from(path);
    }
    if let Some(cluster) = &args.cluster {
        config.cluster.clone_from(cluster);
    }
    match args.listen.as_deref() {
        Some("off") => config.server.enabled = false,
        Some(listen) => {
            config.server.enabled = true;
            config.server.listen = listen.to_owned();
        }
        None => {}
    }
    if let Some(api) = &args.api_listen {
        config.server.api_listen.clone_from(api);
    }
    if let Some(policies) = args.policies {
        config.policies.source = policies;
    }
    Ok(())
}

fn parse_source(spec: &str, context: Option<&str>) -> anyhow::Result<SourceConfig> {
    if let Some(path) = spec.strip_prefix("replay:") {
        if context.is_some() {
            return Err(
                UsageError("--context goes with --source kube, not a replay".into()).into(),
            );
        }
        return Ok(SourceConfig::Replay {
            path: path.to_owned(),
        });
    }
    #[cfg(feature = "kube")]
    if spec == "kube" {
        let mut source = SourceConfig::Kube(Default::default());
        if let Some(context) = context {
            set_context(&mut source, context)?;
        }
        return Ok(source);
    }
    Err(UsageError(format!(
        "--source {spec:?}: expected `kube` or `replay:PATH` (`replay:-` for stdin){}",
        if cfg!(feature = "kube") {
            ""
        } else {
            "; this kev was built without the `kube` feature"
        }
    ))
    .into())
}

fn set_context(source: &mut SourceConfig, context: &str) -> anyhow::Result<()> {
    #[cfg(not(feature = "kube"))]
    let _ = context;
    match source {
        #[cfg(feature = "kube")]
        SourceConfig::Kube(kube) => {
            kube.context = Some(context.to_owned());
            Ok(())
        }
        _ => Err(UsageError("--context goes with --source kube".into()).into()),
    }
}

async fn run_pipeline(config: RawConfig, _args: RunArgs) -> anyhow::Result<ExitCode> {
    let metrics = server::install_metrics()?;
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());

    // One client, one qps budget, for the source, enrichment and EventPolicies; leader
    // election has its own, so that a renewal never waits behind their requests.
    let kube = assemble::kube_client(&config.source).await?;
    #[cfg(feature = "kube")]
    let candidate = crate::election::candidate(&config).await?;
    let readiness = server::Readiness::default();
    #[cfg(feature = "kube")]
    if let Some(c) = &candidate {
        let status = c.status();
        readiness.set_role(move || status.is_leader());
    }
    let server_stop = CancellationToken::new();
    let mut servers = Vec::new();
    if config.server.enabled {
        let listen: SocketAddr = config.server.listen.parse()?;
        servers.push(server::serve(listen, metrics, readiness.clone(), server_stop.clone()).await?);
    }
    let leading = |stop| lead(&config, kube.as_ref(), &readiness, stop, &server_stop);
    #[cfg(feature = "kube")]
    let outcome = match candidate {
        Some(c) => crate::election::run_elected(c, shutdown, leading).await,
        None => leading(shutdown).await,
    };
    #[cfg(not(feature = "kube"))]
    let outcome = leading(shutdown).await;
    server_stop.cancel();
    for server in servers {
        let _ = server.await;
    }
    outcome
}

/// What the leader (or a run without election) does: open the store, connect the
/// source, serve the read API and run the pipeline until `stop`.
async fn lead(
    config: &RawConfig,
    kube: Option<&assemble::KubeClient>,
    readiness: &server::Readiness,
    stop: CancellationToken,
    server_stop: &CancellationToken,
) -> anyhow::Result<ExitCode> {
    let parts = assemble::assemble(config, kube).await?;
    readiness.set_checks(parts.readiness);
    let api_stop = server_stop.child_token();
    let api = if config.server.api_enabled() {
        let listen: SocketAddr = config.server.api_listen.parse()?;
        Some(crate::api::serve(listen, parts.store.clone(), api_stop.clone()).await?)
    } else {
        None
    };

    // A replay is an import of history that may be years old: retention by age would
    // remove it as soon as it is stored, so it applies to live sources only.
    let mut pipeline = parts.pipeline;
    if !matches!(config.source, SourceConfig::Replay { .. }) {
        pipeline = pipeline.compactor(CompactorConfig {
            retention: config.store.retention.to_retention(),
            interval: config.store.compaction_interval,
            ..CompactorConfig::default()
        });
    }
    #[cfg(feature = "kube")]
    let policies_stop = stop.child_token();
    #[cfg(feature = "kube")]
    let policies = start_policies(config, kube, &mut pipeline, &parts.store, &policies_stop)?;
    let report = pipeline.run(stop).await;
    #[cfg(feature = "kube")]
    if let Some(task) = policies {
        policies_stop.cancel();
        match task.await {
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "EventPolicy watch failed"),
            Err(e) => tracing::error!(error = %e, "EventPolicy watch task failed"),
            Ok(Ok(())) => {}
        }
    }
    api_stop.cancel();
    if let Some(api) = api {
        let _ = api.await;
    }
    let report = report?;
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
    Ok(ExitCode::SUCCESS)
}

/// With `policies.source: crd`, the EventPolicy watch, changing the pipeline's routes.
#[cfg(feature = "kube")]
fn start_policies(
    config: &RawConfig,
    kube: Option<&kube::Client>,
    pipeline: &mut kev_core::pipeline::Pipeline,
    store: &std::sync::Arc<dyn kev_core::Store>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<anyhow::Result<()>>>> {
    let Some(client) = kube.cloned() else {
        return Ok(None);
    };
    if config.policies.source != PolicySource::Crd {
        return Ok(None);
    }
    let settings = crate::policies::PolicySettings {
        client,
        namespace: config.policies.namespace.clone(),
        status_interval: config.policies.status_interval,
        secret_refresh: config.policies.secret_refresh,
    };
    let control = pipeline.route_control();
    Ok(Some(tokio::spawn(crate::policies::run(
        settings,
        control,
        std::sync::Arc::clone(store),
        shutdown.clone(),
    ))))
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
