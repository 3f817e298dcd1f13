//! `cargo xtask`: developer tasks for kev.
//!
//! - `cargo xtask bench [FILTER]`: runs every criterion benchmark of the workspace and
//!   prints one table (mean time per iteration and throughput), then the workload
//!   benches' figures (delivery latency p50/p99 at 1k events/s, backlog drain rate and
//!   RSS; `KEV_BENCH_SECS`, `KEV_BENCH_BACKLOG` shorten them), then the peak RSS and CPU
//!   time of the real `kev query` on the 1M-event redb bench store.
//! - `cargo xtask rss -- CMD…`: runs one command, prints its peak RSS (KiB) and CPU time.
//! - `cargo xtask e2e`: kev in a kind (or any) cluster, checked end to end with kubectl;
//!   exit code 2 when kind, a container engine, kubectl or helm is missing.

mod bench;
mod e2e;
mod rss;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the criterion benchmarks of every crate and print one table.
    Bench {
        /// Only benchmarks whose id contains this text.
        filter: Option<String>,
        /// Print the table of the last run without running anything.
        #[arg(long)]
        no_run: bool,
    },
    /// Run one command and print `max_rss_kib user_s system_s wall_s` (getrusage).
    Rss {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        cmd: Vec<String>,
    },
    /// Install kev in a kind cluster (or any, with --kubeconfig/--context) and check
    /// that events reach `kev query`, a webhook, /metrics and the EventPolicy status.
    E2e(e2e::E2eArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench { filter, no_run } => bench::run(filter.as_deref(), no_run),
        Command::Rss { cmd } => rss::run(&cmd),
        Command::E2e(args) => e2e::run_e2e(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
