//! `kev`: keep, query and forward Kubernetes Events.
//!
//! A thin binary: parse the command line, run one command, map the outcome to an exit
//! code (0 ok, 1 runtime failure, 2 bad usage or config). A closed stdout (`kev query |
//! head`) is success.

/// kev allocates one short-lived buffer or more per event (decode, normalize, encode);
/// mimalloc's thread-local free lists cost a fraction of glibc malloc's consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod api;
mod assemble;
mod cli;
mod commands;
mod config;
#[cfg(feature = "kube")]
mod election;
mod exit;
mod logging;
#[cfg(feature = "kube")]
mod policies;
mod query;
mod render;
mod server;
mod sinks;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("kev: {e:#}");
        return ExitCode::from(exit::USAGE);
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}
