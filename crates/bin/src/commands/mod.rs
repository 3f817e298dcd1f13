//! One module per subcommand; [`run`] dispatches.

mod check_config;
mod query;
mod run;
mod stats;
mod store_args;
mod tail;

pub use query::QueryArgs;
pub use stats::StatsArgs;
pub use tail::TailArgs;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args, None),
        Command::Replay { file, run: args } => run::run(args, Some(file)),
        Command::Query(args) => query::query(args),
        Command::Tail(args) => tail::tail(args),
        Command::Stats(args) => stats::stats(args),
        Command::CheckConfig { file } => check_config::check_config(&file),
        #[cfg(feature = "kube")]
        Command::Crd => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(kev_kube_source::policy::crd_yaml().as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A multi-threaded tokio runtime for the commands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
