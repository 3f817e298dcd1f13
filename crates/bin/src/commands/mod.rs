//! One module per subcommand; [`run`] dispatches.

mod check_config;
mod run;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args, None),
        Command::Replay { file, run: args } => run::run(args, Some(file)),
        Command::CheckConfig { file } => check_config::check_config(&file),
    }
}

/// A multi-threaded tokio runtime for the commands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
