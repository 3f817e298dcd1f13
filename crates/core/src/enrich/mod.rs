//! The [`Enricher`] trait: context gathered for an event before a route's sinks see it
//! (pod logs, related events, the object's spec), carried beside the event in the
//! sink's [`crate::Batch`].
//!
//! Enrichment never fails a delivery: a part that could not be gathered is listed in
//! [`EventContext::failures`] and the event goes on without it. Sinks receive the
//! context through [`crate::Batch::contexts`]; a sink that cannot carry it ignores it.

mod config;
mod redact;
mod related;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::store::StoredEvent;

pub use config::{EnrichConfig, LogsConfig, RelatedEventsConfig};
pub use related::RelatedEventsEnricher;

/// The last lines of one container's log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLogs {
    pub container: String,
    /// True for the log of the previous (crashed) instance of the container.
    pub previous: bool,
    /// The log text, at most `logs.bytes` long (the newest part is kept).
    pub text: String,
    /// True when older lines were cut to fit `logs.bytes`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A part of the context that could not be gathered, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichFailure {
    /// `logs`, `related_events` or `spec` (a bounded set, also a metric label).
    pub part: String,
    pub error: String,
}

/// Context of one event. Each part is empty when it is switched off or failed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventContext {
    pub logs: Vec<ContainerLogs>,
    /// Other events of the same object within the lookback, newest first.
    pub related_events: Vec<Event>,
    /// The involved object as the API server returns it, secret values stripped.
    /// Every part is redacted ([`EventContext::redact`]) before a sink sees it.
    pub spec: Option<serde_json::Value>,
    pub failures: Vec<EnrichFailure>,
}

impl EventContext {
    /// Records a part that failed.
    pub fn fail(&mut self, part: &str, error: impl std::fmt::Display) {
        metrics::counter!(crate::metrics::ENRICH_FAILURES_TOTAL, "part" => part.to_owned())
            .increment(1);
        self.failures.push(EnrichFailure {
            part: part.to_owned(),
            error: error.to_string(),
        });
    }
}

/// Gathers context for an event. Implementations fill the parts they know and report
/// their failures in the context; they never fail the event.
///
/// ```
/// use kev_core::enrich::{Enricher, EventContext};
/// # #[derive(Debug)] struct Note;
/// #[async_trait::async_trait]
/// impl Enricher for Note {
///     async fn enrich(&self, _event: &kev_core::StoredEvent, context: &mut EventContext) {
///         context.fail("spec", "no API server in this example");
///     }
/// }
/// ```
#[async_trait]
pub trait Enricher: Send + Sync + std::fmt::Debug {
    async fn enrich(&self, event: &StoredEvent, context: &mut EventContext);
}

/// Several enrichers run one after the other into the same context.
#[derive(Debug, Clone, Default)]
pub struct Enrichers(pub Vec<Arc<dyn Enricher>>);

#[async_trait]
impl Enricher for Enrichers {
    async fn enrich(&self, event: &StoredEvent, context: &mut EventContext) {
        for enricher in &self.0 {
            enricher.enrich(event, context).await;
        }
    }
}

/// Keeps the newest part of `text` within `max_bytes`, starting at a line boundary when
/// one is near; returns whether anything was cut.
///
/// ```
/// let (kept, cut) = kev_core::enrich::tail_bytes("one\ntwo\nthree\n", 8);
/// assert_eq!((kept.as_str(), cut), ("three\n", true));
/// ```
pub fn tail_bytes(text: &str, max_bytes: usize) -> (String, bool) {
    if text.len() <= max_bytes {
        return (text.to_owned(), false);
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    // Start at the next whole line unless that would drop everything.
    let rest = match rest.find('\n') {
        Some(i) if i + 1 < rest.len() && start > 0 && !text[..start].ends_with('\n') => {
            &rest[i + 1..]
        }
        _ => rest,
    };
    (rest.to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_whole_lines_and_char_boundaries() {
        assert_eq!(tail_bytes("abc", 10), ("abc".to_owned(), false));
        assert_eq!(tail_bytes("aaaa\nbbbb\ncc", 6), ("cc".to_owned(), true));
        assert_eq!(tail_bytes("aaaa\nbbbb\n", 5), ("bbbb\n".to_owned(), true));
        // 'é' is two bytes: never split.
        let (kept, cut) = tail_bytes("éééé", 3);
        assert!(cut);
        assert_eq!(kept, "é");
        // One long line: the tail of it.
        assert_eq!(tail_bytes("abcdefgh", 3), ("fgh".to_owned(), true));
    }
}
