//! `kev tail`: the last events, then new ones as they are stored.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kev_daemon::api::QueryParams;

use super::store_args::StoreArgs;
use crate::render::{OutputFormat, TableStyle, write_events};

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub params: QueryParams,
    /// Output format (`table` prints its header once).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// How many stored events to show before following.
    #[arg(long, default_value_t = 10)]
    pub lines: usize,
    /// How often to look for new events.
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    kev_core::config::parse_duration(s)
}

pub fn tail(args: TailArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let access = args.store.open().await?;
        let filter = args.params.to_query(jiff::Timestamp::now())?;
        let style = TableStyle {
            namespace: args.params.namespace.is_none(),
            cluster: false,
            wide: args.output == OutputFormat::Wide,
            width: super::query::terminal_width(),
            paths: args.params.for_object.is_some(),
        };
        let mut last = access.last_seq().await?;
        let mut recent = access
            .query(&QueryParams {
                limit: Some(args.lines),
                ..args.params.clone()
            })
            .await?;
        recent.reverse();
        let mut out = std::io::stdout().lock();
        write_events(&mut out, &recent, args.output, style)?;
        out.flush()?;
        let mut header_done = true;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
                () = tokio::time::sleep(args.interval) => {}
            }
            loop {
                let batch = access.read_log(last + 1, 1000).await?;
                let Some(end) = batch.last().map(|e| e.seq) else {
                    break;
                };
                last = end;
                let matching: Vec<_> = batch
                    .into_iter()
                    .filter(|e| filter.matches(&e.event))
                    .collect();
                if matching.is_empty() {
                    continue;
                }
                if header_done && matches!(args.output, OutputFormat::Table | OutputFormat::Wide) {
                    // Rows without a header after the first screen: widths vary per batch,
                    // so keep kubectl -w's habit of plain rows.
                    let mut rows = Vec::new();
                    write_events(&mut rows, &matching, args.output, style)?;
                    let text = String::from_utf8_lossy(&rows);
                    for line in text.lines().skip(1) {
                        writeln!(out, "{line}")?;
                    }
                } else {
                    write_events(&mut out, &matching, args.output, style)?;
                    header_done = true;
                }
                out.flush()?;
            }
        }
    })
}
