//! What one replayed item is: a core/v1 or events.k8s.io/v1 Event, a watch record
//! (`{"type": …, "object": …}`), or an [`Event`] in kev's own JSON form.

use serde::Deserialize;

use super::framer::{KEY_FIRST_SEEN, KEY_LAST_SEEN, KEY_METADATA, KEY_OBJECT};
use crate::event::Event;
use crate::normalize::KubeEvent;
use crate::source::RawEvent;

/// The outcome for one item.
#[derive(Debug)]
pub(crate) enum Parsed {
    Event(RawEvent),
    /// A watch record that carries no new occurrence (`DELETED`, `BOOKMARK`).
    Skipped,
    /// Counted under `kev_source_errors_total{reason}` and logged.
    Error {
        reason: &'static str,
        detail: String,
    },
}

impl Parsed {
    fn error(reason: &'static str, detail: impl Into<String>) -> Self {
        Self::Error {
            reason,
            detail: detail.into(),
        }
    }
}

/// `kubectl get events -w -o json --output-watch-events` prints one of these per change.
#[derive(Debug, Deserialize)]
struct WatchRecord {
    #[serde(rename = "type", default)]
    change: String,
    #[serde(default)]
    object: Option<KubeEvent>,
}

/// Watch types and what replay does with them.
fn watch(record: WatchRecord) -> Parsed {
    match record.change.as_str() {
        "ADDED" | "MODIFIED" => match record.object {
            Some(object) => kube(object),
            None => Parsed::error("not_an_event", "watch record without an object"),
        },
        // A deletion is the API server expiring the Event after its TTL, not a new occurrence.
        "DELETED" | "BOOKMARK" => Parsed::Skipped,
        other => Parsed::error(
            "watch_error",
            format!("watch record of type {other:?} (not ADDED/MODIFIED/DELETED/BOOKMARK)"),
        ),
    }
}

fn kube(raw: KubeEvent) -> Parsed {
    match raw.kind.as_deref() {
        Some(kind) if !kind.is_empty() && kind != "Event" => {
            Parsed::error("not_an_event", format!("kind is {kind:?}, not Event"))
        }
        _ => Parsed::Event(RawEvent::Kube(Box::new(raw))),
    }
}

/// True for kev's own JSON: `firstSeen`/`lastSeen` and no `metadata`.
fn is_kev_event(keys: u8) -> bool {
    keys & (KEY_FIRST_SEEN | KEY_LAST_SEEN) != 0 && keys & KEY_METADATA == 0
}

/// Parses one JSON item (valid UTF-8, checked once by the caller); `keys` and
/// `is_object` come from the framer.
pub(crate) fn parse_json(text: &str, keys: u8, is_object: bool) -> Parsed {
    if !is_object {
        let shown = String::from_utf8_lossy(&text.as_bytes()[..text.len().min(40)]);
        return Parsed::error(
            "not_an_object",
            format!("expected an object, found `{shown}`"),
        );
    }
    let malformed = |e: serde_json::Error| Parsed::error("malformed_json", e.to_string());
    if keys & KEY_OBJECT != 0 {
        return serde_json::from_str::<WatchRecord>(text).map_or_else(malformed, watch);
    }
    if is_kev_event(keys) {
        return serde_json::from_str::<Event>(text).map_or_else(malformed, |e| {
            Parsed::Event(RawEvent::Normalized(Box::new(e)))
        });
    }
    serde_json::from_str::<KubeEvent>(text).map_or_else(malformed, kube)
}

/// Parses one YAML value (a document, or an element of a List's `items`).
pub(crate) fn parse_yaml(value: serde_norway::Value) -> Parsed {
    use serde_norway::Value;
    let Value::Mapping(map) = &value else {
        return Parsed::error("not_an_object", "expected a mapping");
    };
    let has = |k: &str| map.contains_key(k);
    let malformed = |e: serde_norway::Error| Parsed::error("malformed_yaml", e.to_string());
    if has("object") && has("type") {
        return serde_norway::from_value::<WatchRecord>(value).map_or_else(malformed, watch);
    }
    if (has("firstSeen") || has("lastSeen")) && !has("metadata") {
        return serde_norway::from_value::<Event>(value).map_or_else(malformed, |e| {
            Parsed::Event(RawEvent::Normalized(Box::new(e)))
        });
    }
    serde_norway::from_value::<KubeEvent>(value).map_or_else(malformed, kube)
}
