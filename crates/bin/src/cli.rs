//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{PolicySource, StoreType};
use crate::logging::LogArgs;

/// kev keeps Kubernetes Events beyond their 1 h TTL, filters and rate-limits them, and
/// forwards them to the systems that act on them.
#[derive(Debug, Parser)]
#[command(name = "kev", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch (or replay) events, store them, and deliver them along the routes.
    Run(RunArgs),
    /// Read a file of events (`-` for stdin) into the store and the routes, then exit:
    /// the same as `kev run --source replay:FILE`.
    Replay {
        /// kubectl JSON/YAML output, a watch dump, JSON lines, or kev's own output.
        file: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Stored events, like `kubectl get events`, with filters.
    Query(crate::commands::QueryArgs),
    /// The last stored events, then new ones as they are stored.
    Tail(crate::commands::TailArgs),
    /// Top reasons, top objects and events per hour.
    Stats(crate::commands::StatsArgs),
    /// Print the EventPolicy CustomResourceDefinition (YAML), for `kubectl apply -f -`.
    #[cfg(feature = "kube")]
    Crd,
    /// Validate a config file without starting; names the path of every bad field.
    CheckConfig {
        /// The YAML config file.
        file: PathBuf,
    },
}

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
    /// Address of /metrics, /healthz and /readyz (`off` to disable).
    #[arg(long)]
    pub listen: Option<String>,
    /// Address of the local read API used by `kev query` while this runs (`off` to disable).
    #[arg(long)]
    pub api_listen: Option<String>,
    /// `crd`: also run the routes declared by EventPolicy objects, changed live
    /// (needs the `kube` feature and the kube source); `none`: config routes only.
    #[arg(long, value_enum)]
    pub policies: Option<PolicySource>,
}
