//! `kev query`: stored events, like `kubectl get events`, beyond the API server's 1 h.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use kev_daemon::api::client::write_each;
use kev_daemon::api::{Access, QueryParams};

use super::store_args::StoreArgs;
use crate::render::{OutputFormat, TableStyle, record_writer, write_events};

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub params: QueryParams,
    /// All namespaces (the default without `-n`; accepted out of kubectl habit).
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// At most this many events, the newest (0: no limit).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
    /// Only the latest version of each event, which carries its count.
    #[arg(long)]
    pub collapse: bool,
    /// Show deliveries that failed for good instead of events.
    #[arg(long)]
    pub dead_letter: bool,
    /// With --dead-letter: only this route's.
    #[arg(long, requires = "dead_letter")]
    pub route: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn query(args: QueryArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let access = args.store.open().await?;
        let mut out = std::io::stdout().lock();
        if args.dead_letter {
            let limit = if args.limit == 0 {
                usize::MAX
            } else {
                args.limit
            };
            for letter in access.dead_letters(args.route.clone(), limit).await? {
                serde_json::to_writer(&mut out, &letter)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut params = args.params.clone();
        params.limit = (args.limit > 0).then_some(args.limit);
        params.collapse = args.collapse;
        if let (Access::Direct(store), None, Some(write)) =
            (&access, params.limit, record_writer(args.output))
        {
            // Everything, oldest first, as records: written as the store reads them.
            drop(out);
            params.oldest_first = true;
            let stdout = std::io::BufWriter::new(std::io::stdout());
            write_each(store, &params, stdout, move |out, e| write(out, e)).await?;
            return Ok(ExitCode::SUCCESS);
        }
        // The newest N, printed oldest first so the newest line ends up next to the prompt.
        let mut events = access.query(&params).await?;
        events.reverse();
        let style = TableStyle {
            namespace: args.params.namespace.is_none(),
            cluster: args.params.cluster.is_none()
                && events.iter().any(|e| !e.event.cluster.is_empty()),
            wide: false,
            width: terminal_width(),
            paths: args.params.for_object.is_some(),
        };
        if events.is_empty() && matches!(args.output, OutputFormat::Table | OutputFormat::Wide) {
            eprintln!("No events found.");
        } else {
            write_events(&mut out, &events, args.output, style)?;
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The terminal's width when stdout is one; `None` (no cutting) into a pipe or file.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
}
