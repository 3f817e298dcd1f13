//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::dead_letter::DeadLetterCommand;
use crate::commands::query::QueryArgs;
use crate::commands::run::RunArgs;
use crate::commands::stats::StatsArgs;
use crate::commands::tail::TailArgs;
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
    Query(QueryArgs),
    /// The last stored events, then new ones as they are stored.
    Tail(TailArgs),
    /// Top reasons, top objects and events per hour.
    Stats(StatsArgs),
    /// Deliveries that failed for good: list them, send them again, or drop them.
    #[command(subcommand)]
    DeadLetter(DeadLetterCommand),
    /// Print the EventPolicy CustomResourceDefinition (YAML), for `kubectl apply -f -`.
    #[cfg(feature = "kube")]
    Crd,
    /// Validate a config file without starting; names the path of every bad field.
    CheckConfig {
        /// The YAML config file.
        file: PathBuf,
    },
}

impl Command {
    /// A daemon logs what it does; a read command is a CLI and prints what was asked,
    /// with warnings and errors only (a cut answer, an unreachable daemon).
    pub fn default_log_level(&self) -> &'static str {
        match self {
            Self::Run(_) | Self::Replay { .. } => "info",
            _ => "warn",
        }
    }
}
