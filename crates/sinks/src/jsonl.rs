//! JSON lines: the stable `Event` JSON form, one event per line, shared by stdout and file.

use kev_core::SinkError;
use serde::Serialize;

/// Appends `event` (kev's Event, or KEE's shape of it) as one JSON line. serde_json
/// escapes newlines inside strings, so one event is always exactly one line.
pub(crate) fn push_json_line(event: &impl Serialize, out: &mut Vec<u8>) -> Result<(), SinkError> {
    serde_json::to_writer(&mut *out, event)
        .map_err(|e| SinkError::permanent(format!("cannot encode event as JSON: {e}")))?;
    out.push(b'\n');
    Ok(())
}
