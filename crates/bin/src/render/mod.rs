//! How `kev query` and `kev tail` print events: table, wide, JSON lines, YAML.

pub mod age;
mod object_path;
mod table;

use std::io::{self, Write};

use clap::ValueEnum;
use kev_core::{Event, StoredEvent};

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

/// Writes one event as one record of a record format.
pub type RecordWriter = fn(&mut dyn Write, &Event) -> io::Result<()>;

/// How to write one record in `format`; `None` for the tables, which need every row to
/// size their columns.
pub fn record_writer(format: OutputFormat) -> Option<RecordWriter> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => None,
        OutputFormat::Json => Some(|out, e| {
            serde_json::to_writer(&mut *out, e)?;
            out.write_all(b"\n")
        }),
        OutputFormat::Yaml => Some(|out, e| {
            let doc = serde_norway::to_string(e).map_err(io::Error::other)?;
            writeln!(out, "---\n{}", doc.trim_end())
        }),
    }
}

/// Writes `events` in `format`; tables get a header, the others one record per event.
pub fn write_events(
    out: &mut impl Write,
    events: &[StoredEvent],
    format: OutputFormat,
    style: TableStyle,
) -> io::Result<()> {
    let Some(write) = record_writer(format) else {
        return write_table(
            out,
            jiff::Timestamp::now(),
            events,
            TableStyle {
                wide: format == OutputFormat::Wide,
                ..style
            },
        );
    };
    for e in events {
        write(out, &e.event)?;
    }
    Ok(())
}
