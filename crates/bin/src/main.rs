//! `kev`: keep, query and forward Kubernetes Events.
//!
//! A thin binary: parse the command line, run one command, map the outcome to an exit
//! code (0 ok, 1 runtime failure, 2 bad usage or config). A closed stdout (`kev query |
//! head`) is success. The daemon itself is the `kev-daemon` library.

/// kev allocates one short-lived buffer or more per event (decode, normalize, encode);
/// mimalloc's thread-local free lists cost a fraction of glibc malloc's consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod exit;
mod logging;
mod render;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.log, cli.command.default_log_level()) {
        eprintln!("kev: {e:#}");
        return ExitCode::from(exit::USAGE);
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => commands::run::run(args, None),
        Command::Replay { file, run: args } => commands::run::run(args, Some(file)),
        Command::Query(args) => commands::query::query(args),
        Command::Tail(args) => commands::tail::tail(args),
        Command::Stats(args) => commands::stats::stats(args),
        Command::DeadLetter(command) => commands::dead_letter::dead_letter(command),
        Command::CheckConfig { file } => commands::check_config::check_config(&file),
        #[cfg(feature = "kube")]
        Command::Crd => commands::crd(),
    }
}
