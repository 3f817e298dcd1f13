//! How `kev query` and `kev tail` print events: table, wide, JSON lines, YAML.

pub mod age;
mod table;

use std::io::{self, Write};

use clap::ValueEnum;
use kev_core::StoredEvent;

pub use table::{TableStyle, write_table};

/// `-o` of `kev query` / `kev tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// The columns of `kubectl get events`.
    #[default]
    Table,
    /// `kubectl get events -o wide` columns.
    Wide,
    /// One event per line in kev's JSON form (replayable with `kev replay`).
    Json,
    /// One YAML document per event.
    Yaml,
}

/// Writes `events` in `format`; tables get a header, the others one record per event.
pub fn write_events(
    out: &mut impl Write,
    events: &[StoredEvent],
    format: OutputFormat,
    style: TableStyle,
) -> io::Result<()> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => write_table(
            out,
            jiff::Timestamp::now(),
            events,
            TableStyle {
                wide: format == OutputFormat::Wide,
                ..style
            },
        ),
        OutputFormat::Json => {
            for e in events {
                serde_json::to_writer(&mut *out, &e.event)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        OutputFormat::Yaml => {
            for e in events {
                let doc = serde_norway::to_string(&e.event).map_err(io::Error::other)?;
                writeln!(out, "---\n{}", doc.trim_end())?;
            }
            Ok(())
        }
    }
}
