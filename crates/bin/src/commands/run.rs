//! `kev run` / `kev replay`: the config from the file, the environment and the flags,
//! validated, then the daemon (`kev_daemon::Daemon`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kev_daemon::config::{ConfigErrors, PolicySource, RawConfig, SourceConfig, StoreType};
use kev_daemon::{Daemon, DaemonError};

/// Options of `kev run`; each overrides the config file.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// YAML config file (see docs/config.md).
    #[arg(long, short = 'c', env = "KEV_CONFIG")]
    pub config: Option<PathBuf>,
    /// Event source: `kube` (the current kube context or in-cluster), or
    /// `replay:PATH` (`replay:-` for stdin).
    #[arg(long)]
    pub source: Option<String>,
    /// Kube context to use with `--source kube` (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Store backend.
    #[arg(long, value_enum)]
    pub store: Option<StoreType>,
    /// Store directory.
    #[arg(long)]
    pub store_path: Option<PathBuf>,
    /// Cluster name stamped on events.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Address of /metrics, /healthz and /readyz (`off` to disable; default
    /// 127.0.0.1:9464, none for a replay).
    #[arg(long)]
    pub listen: Option<String>,
    /// Address of the local read API used by `kev query` while this runs (`off` to
    /// disable; default 127.0.0.1:9465, none for a replay).
    #[arg(long)]
    pub api_listen: Option<String>,
    /// `crd`: also run the routes declared by EventPolicy objects, changed live
    /// (needs the `kube` feature and the kube source); `none`: config routes only.
    #[arg(long, value_enum)]
    pub policies: Option<PolicySource>,
}

pub fn run(args: RunArgs, replay: Option<String>) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => RawConfig::load(path, std::env::vars())?,
        None => RawConfig::from_env(std::env::vars())?,
    };
    apply_flags(&mut config, &args, replay)?;
    let validated = config.validate().map_err(|errors| ConfigErrors {
        origin: args
            .config
            .as_ref()
            .map_or_else(|| "(flags)".into(), |p| p.display().to_string()),
        errors,
    })?;
    Daemon::from_config(validated).run()?;
    Ok(ExitCode::SUCCESS)
}

/// Command-line flags win over the config file and the environment.
fn apply_flags(
    config: &mut RawConfig,
    args: &RunArgs,
    replay: Option<String>,
) -> Result<(), DaemonError> {
    let source = replay
        .map(|path| format!("replay:{path}"))
        .or_else(|| args.source.clone());
    if let Some(spec) = source {
        config.source = SourceConfig::from_flag(&spec, args.context.as_deref())?;
    } else if let Some(context) = &args.context {
        config.source.set_context(context)?;
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
            config.server.listen = Some(listen.to_owned());
        }
        None => {}
    }
    if let Some(api) = &args.api_listen {
        config.server.api_listen = Some(api.clone());
    }
    if let Some(policies) = args.policies {
        config.policies.source = policies;
    }
    Ok(())
}
