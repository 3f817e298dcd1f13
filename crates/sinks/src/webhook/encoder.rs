//! Request bodies (one Event JSON object, or an array for a batch) and the
//! `Idempotency-Key` header value.

use kev_core::{SinkError, StoredEvent};
use reqwest::header::HeaderValue;

/// The body for `events`: one Event JSON object, or a JSON array when `as_array`.
pub(super) fn body(events: &[StoredEvent], as_array: bool) -> Result<Vec<u8>, SinkError> {
    let encoded = if as_array {
        let list: Vec<&kev_core::Event> = events.iter().map(|s| &s.event).collect();
        serde_json::to_vec(&list)
    } else {
        match events {
            [one] => serde_json::to_vec(&one.event),
            _ => return Err(SinkError::permanent("one event per request expected")),
        }
    };
    encoded.map_err(|e| SinkError::permanent(format!("cannot encode events as JSON: {e}")))
}

/// The `Idempotency-Key` for a request carrying `events`: the event's key
/// (`uid/resourceVersion`) for one event; `first..last` for a batch, which is the
/// same for every retry of the same batch. Bytes that a header cannot carry are
/// percent-encoded.
///
/// ```
/// use kev_core::{Event, StoredEvent};
/// use kev_sinks::webhook::idempotency_key_header;
/// let ev = |uid: &str, rv: &str| StoredEvent { seq: 1, event: Event { uid: uid.into(), resource_version: rv.into(), ..Default::default() } };
/// assert_eq!(idempotency_key_header(&[ev("a", "1")]).unwrap(), "a/1");
/// assert_eq!(idempotency_key_header(&[ev("a", "1"), ev("b", "2"), ev("c", "3")]).unwrap(), "a/1..c/3");
/// assert_eq!(idempotency_key_header(&[ev("ü", "1")]).unwrap(), "%C3%BC/1");
/// ```
pub fn idempotency_key_header(events: &[StoredEvent]) -> Option<HeaderValue> {
    let key = match events {
        [] => return None,
        [one] => one.event.idempotency_key().to_string(),
        [first, .., last] => format!(
            "{}..{}",
            first.event.idempotency_key(),
            last.event.idempotency_key()
        ),
    };
    HeaderValue::from_str(&header_safe(&key)).ok()
}

fn header_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
