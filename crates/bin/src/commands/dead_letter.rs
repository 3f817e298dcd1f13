//! `kev dead-letter list|retry|drop`: the deliveries that failed for good, sent again to
//! their routes or given up on. Through the running kev when one holds the store.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kev_core::store::dead_letters::DeadLetterSelect;
use kev_daemon::api::Access;
use kev_daemon::api::params::parse_time;
use kev_daemon::config::ConfigErrors;

use super::store_args::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// The dead letters, oldest first, one JSON object a line (`kev query --dead-letter`).
    List(SelectArgs),
    /// Hand them to their route again with their original idempotency keys; each leaves
    /// the list once delivered, and stays with its new error if refused again. Exits 1
    /// when any is kept.
    Retry(SelectArgs),
    /// Remove them for good; prints how many.
    Drop(SelectArgs),
}

/// Which dead letters (all when none of the filters is given), and where they are.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only this route's.
    #[arg(long)]
    pub route: Option<String>,
    /// Only those dead-lettered within this long ago (`1h`, `7d`) or since an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only those of these event seqs (as listed; repeat the flag or separate by commas).
    #[arg(long, value_delimiter = ',')]
    pub seq: Vec<u64>,
    #[command(flatten)]
    pub store: StoreArgs,
}

impl SelectArgs {
    fn select(&self) -> anyhow::Result<DeadLetterSelect> {
        Ok(DeadLetterSelect {
            route: self.route.clone(),
            since: self
                .since
                .as_deref()
                .map(|s| parse_time("--since", s, jiff::Timestamp::now()))
                .transpose()?,
            seqs: self.seq.clone(),
        })
    }
}

pub fn dead_letter(command: DeadLetterCommand) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        match command {
            DeadLetterCommand::List(args) => list(&args).await,
            DeadLetterCommand::Retry(args) => retry(&args).await,
            DeadLetterCommand::Drop(args) => drop_letters(&args).await,
        }
    })
}

async fn list(args: &SelectArgs) -> anyhow::Result<ExitCode> {
    let select = args.select()?;
    let access = args.store.open().await?;
    let mut out = std::io::stdout().lock();
    for letter in access
        .dead_letters(select.route.clone(), usize::MAX)
        .await?
    {
        if select.matches(&letter) {
            serde_json::to_writer(&mut out, &letter)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

async fn retry(args: &SelectArgs) -> anyhow::Result<ExitCode> {
    let select = args.select()?;
    let config = validated(&args.store)?;
    let access = Access::open_for_writing(&config, args.store.server.as_deref()).await?;
    let report = access.retry_dead_letters(&config, &select).await?;
    println!(
        "{} dead letter(s): {} delivered and removed, {} refused again (kept), {} without a running route or sink of their name (kept)",
        report.selected, report.delivered, report.failed, report.no_route
    );
    Ok(if report.failed + report.no_route > 0 {
        ExitCode::from(crate::exit::FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

async fn drop_letters(args: &SelectArgs) -> anyhow::Result<ExitCode> {
    let select = args.select()?;
    let config = validated(&args.store)?;
    let access = Access::open_for_writing(&config, args.store.server.as_deref()).await?;
    let dropped = access.drop_dead_letters(&select).await?;
    println!("dropped {dropped} dead letter(s)");
    Ok(ExitCode::SUCCESS)
}

/// The config checked as `kev run` checks it: a retry on the store builds its routes.
fn validated(store: &StoreArgs) -> anyhow::Result<kev_daemon::config::ValidatedConfig> {
    let origin = store
        .config
        .as_ref()
        .map_or_else(|| "the environment".to_owned(), |p| p.display().to_string());
    Ok(store
        .raw_config()?
        .validate()
        .map_err(|errors| ConfigErrors { origin, errors })?)
}
