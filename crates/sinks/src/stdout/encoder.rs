//! Encodes a batch for stdout: JSON lines or the one-line text format.

use std::fmt::Write as _;

use kev_core::{Event, SinkError, StoredEvent};

use super::StdoutFormat;

/// The bytes written for `batch`: one line per event, each ending in `\n`.
///
/// ```
/// use kev_core::{Event, StoredEvent};
/// use kev_sinks::stdout::{encode_batch, StdoutFormat};
/// let e = StoredEvent { seq: 1, event: Event { uid: "u".into(), ..Default::default() } };
/// let out = encode_batch(&[e], StdoutFormat::Json).unwrap();
/// assert!(out.starts_with(b"{") && out.ends_with(b"}\n"));
/// ```
pub fn encode_batch(batch: &[StoredEvent], format: StdoutFormat) -> Result<Vec<u8>, SinkError> {
    let mut out = Vec::with_capacity(batch.len() * 512);
    for stored in batch {
        match format {
            StdoutFormat::Json => crate::jsonl::push_json_line(&stored.event, &mut out)?,
            StdoutFormat::Text => {
                out.extend_from_slice(text_line(&stored.event).as_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// One event as `LAST SEEN  NAMESPACE  TYPE  REASON  OBJECT  MESSAGE` (two spaces
/// between columns, `-` for an empty one, the time in RFC 3339 UTC, control characters
/// in the message escaped so that an event is always one line).
///
/// ```
/// use kev_core::{Event, EventType, ObjectRef};
/// let e = Event {
///     namespace: "default".into(),
///     r#type: EventType::Warning,
///     reason: "BackOff".into(),
///     message: "Back-off\nrestarting".into(),
///     regarding: ObjectRef { kind: "Pod".into(), name: "web-0".into(), ..Default::default() },
///     last_seen: Some("2026-11-23T17:33:40Z".parse().unwrap()),
///     ..Default::default()
/// };
/// assert_eq!(
///     kev_sinks::stdout::text_line(&e),
///     "2026-11-23T17:33:40Z  default  Warning  BackOff  pod/web-0  Back-off\\nrestarting"
/// );
/// ```
pub fn text_line(event: &Event) -> String {
    let time = event
        .time()
        .map_or_else(|| "-".to_owned(), |t| t.to_string());
    let mut line = String::with_capacity(96 + event.message.len());
    let _ = write!(
        line,
        "{time}  {}  {}  {}  {}  ",
        or_dash(&event.namespace),
        or_dash(event.r#type.as_str()),
        or_dash(&event.reason),
        event.regarding.kind_name(),
    );
    push_escaped(&event.message, &mut line);
    line
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn push_escaped(message: &str, out: &mut String) {
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}
