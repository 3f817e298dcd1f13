//! `kev query -o table|wide`: the columns of `kubectl get events`, fitted to the terminal.

use std::io::{self, Write};

use kev_core::StoredEvent;

use super::age::{age, human_duration};
use super::object_path::object_path;

/// Which columns to print.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    /// Adds NAMESPACE first, as `kubectl get events -A`.
    pub namespace: bool,
    /// Adds CLUSTER first (fleet stores).
    pub cluster: bool,
    /// The `-o wide` columns: SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME.
    pub wide: bool,
    /// Terminal width; the MESSAGE column is cut to fit. `None`: never cut.
    pub width: Option<usize>,
    /// OBJECT shows the path below the owner root (`kev query --for`).
    pub paths: bool,
}

/// `LAST SEEN` as kubectl shows it: `5m`, or `5m (x12 over 3h)` for repeated events.
pub fn last_seen(now: jiff::Timestamp, e: &kev_core::Event) -> String {
    let Some(last) = e.time() else {
        return "<unknown>".into();
    };
    let last_age = human_duration(age(now, last));
    match e.first_seen {
        Some(first) if e.count > 1 => format!(
            "{last_age} (x{} over {})",
            e.count,
            human_duration(age(now, first))
        ),
        _ => last_age,
    }
}

/// Writes the header and one row per event.
pub fn write_table(
    out: &mut impl Write,
    now: jiff::Timestamp,
    events: &[StoredEvent],
    style: TableStyle,
) -> io::Result<()> {
    let mut header: Vec<&str> = Vec::new();
    if style.cluster {
        header.push("CLUSTER");
    }
    if style.namespace {
        header.push("NAMESPACE");
    }
    header.extend(["LAST SEEN", "TYPE", "REASON", "OBJECT"]);
    if style.wide {
        header.extend(["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"]);
    }
    header.push("MESSAGE");

    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|s| {
            let e = &s.event;
            let mut row = Vec::with_capacity(header.len());
            if style.cluster {
                row.push(e.cluster.clone());
            }
            if style.namespace {
                row.push(e.namespace.clone());
            }
            row.push(last_seen(now, e));
            row.push(e.r#type.to_string());
            row.push(e.reason.clone());
            row.push(if style.paths {
                object_path(e)
            } else {
                e.regarding.kind_name()
            });
            if style.wide {
                row.push(e.regarding.field_path.clone());
                let source = match (e.reporting_controller.as_str(), e.source_host.as_str()) {
                    (c, "") => c.to_owned(),
                    (c, h) => format!("{c}, {h}"),
                };
                row.push(source);
                row.push(
                    e.first_seen
                        .map_or("<unknown>".into(), |f| human_duration(age(now, f))),
                );
                row.push(e.count.to_string());
                row.push(e.name.clone());
            }
            row.push(one_line(&e.message));
            row
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let fixed: usize = widths[..widths.len() - 1].iter().map(|w| w + 3).sum();
    let message_width = style.width.map(|w| w.saturating_sub(fixed).max(20));

    write_row(out, header.iter().copied(), &widths, message_width)?;
    for row in &rows {
        write_row(out, row.iter().map(String::as_str), &widths, message_width)?;
    }
    Ok(())
}

fn write_row<'a>(
    out: &mut impl Write,
    cells: impl Iterator<Item = &'a str>,
    widths: &[usize],
    message_width: Option<usize>,
) -> io::Result<()> {
    let cells: Vec<&str> = cells.collect();
    let last = cells.len() - 1;
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i == last {
            match message_width {
                Some(max) if cell.chars().count() > max => {
                    line.extend(cell.chars().take(max.saturating_sub(1)));
                    line.push('…');
                }
                _ => line.push_str(cell),
            }
        } else {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                widths[i] - cell.chars().count() + 3,
            ));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// Messages may hold newlines (stack traces); a table row must not.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use kev_core::{Event, EventType, ObjectRef};

    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn prints_kubectl_columns_with_repeat_counts() {
        let now = ts("2026-11-23T12:00:00Z");
        let event = Event {
            namespace: "shop".into(),
            r#type: EventType::Warning,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container\napp in pod web-0".into(),
            regarding: ObjectRef {
                kind: "Pod".into(),
                name: "web-0".into(),
                ..Default::default()
            },
            first_seen: Some(ts("2026-11-23T09:00:00Z")),
            last_seen: Some(ts("2026-11-23T11:55:00Z")),
            count: 12,
            ..Default::default()
        };
        let mut out = Vec::new();
        let style = TableStyle {
            namespace: true,
            cluster: false,
            wide: false,
            width: None,
            paths: false,
        };
        write_table(&mut out, now, &[StoredEvent { seq: 1, event }], style).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAMESPACE   LAST SEEN          TYPE      REASON    OBJECT      MESSAGE"
        );
        assert_eq!(
            lines[1],
            "shop        5m (x12 over 3h)   Warning   BackOff   pod/web-0   Back-off restarting failed container app in pod web-0"
        );
    }

    #[test]
    fn cuts_the_message_to_the_terminal_width() {
        let now = ts("2026-11-23T12:00:00Z");
        let event = Event {
            message: "x".repeat(500),
            last_seen: Some(now),
            count: 1,
            ..Default::default()
        };
        let mut out = Vec::new();
        let style = TableStyle {
            namespace: false,
            cluster: false,
            wide: true,
            width: Some(120),
            paths: false,
        };
        write_table(&mut out, now, &[StoredEvent { seq: 1, event }], style).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
        assert!(text.lines().nth(1).unwrap().ends_with('…'));
    }
}
