//! Request bodies (one Event JSON object, or an array for a batch; with a `context`
//! member when the route gathered context) and the `Idempotency-Key` header value.

use kev_core::enrich::EventContext;
use kev_core::{Event, SinkError, StoredEvent};
use reqwest::header::HeaderValue;
use serde::Serialize;

use crate::kee::{EventFormat, KeeEvent};
use crate::template::Template;

/// One event of a request body: the Event JSON, plus `context` (logs, relatedEvents,
/// spec, failures) when the route has an enricher.
#[derive(Serialize)]
pub(super) struct Item<'a> {
    #[serde(flatten)]
    event: &'a Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a EventContext>,
}

impl<'a> Item<'a> {
    pub(super) fn new(stored: &'a StoredEvent, context: Option<&'a EventContext>) -> Self {
        Self {
            event: &stored.event,
            context,
        }
    }

    pub(super) fn event(&self) -> &'a Event {
        self.event
    }

    /// The event in KEE's shape (which has no `context` member).
    fn kee(&self) -> KeeEvent<'a> {
        KeeEvent::new(self.event, self.context)
    }
}

/// The body for `items`: one JSON object (kev's Event or, with `format: kee`, KEE's),
/// or a JSON array when `as_array`, or the one event rendered by `template`.
pub(super) fn body(
    items: &[Item<'_>],
    as_array: bool,
    format: EventFormat,
    template: Option<&Template>,
) -> Result<Vec<u8>, SinkError> {
    if let (Some(template), [one]) = (template, items) {
        return template
            .render(one.event, one.context)
            .map(String::into_bytes);
    }
    let encoded = match (format, as_array, items) {
        (EventFormat::Kev, true, _) => serde_json::to_vec(items),
        (EventFormat::Kev, false, [one]) => serde_json::to_vec(one),
        (EventFormat::Kee, true, _) => {
            let kee: Vec<KeeEvent<'_>> = items.iter().map(Item::kee).collect();
            serde_json::to_vec(&kee)
        }
        (EventFormat::Kee, false, [one]) => serde_json::to_vec(&one.kee()),
        (_, false, _) => return Err(SinkError::permanent("one event per request expected")),
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
    let keys: Vec<&Event> = events.iter().map(|s| &s.event).collect();
    key_header(&keys)
}

pub(super) fn key_header(events: &[&Event]) -> Option<HeaderValue> {
    let key = match events {
        [] => return None,
        [one] => one.idempotency_key().to_string(),
        [first, .., last] => {
            format!("{}..{}", first.idempotency_key(), last.idempotency_key())
        }
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
