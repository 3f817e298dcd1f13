//! The push body for a batch: events grouped into streams by their label values, each
//! stream's entries in timestamp order (as Loki requires within a stream), the line
//! the Event JSON or the template, identifiers as structured metadata.

use std::collections::HashMap;

use kev_core::enrich::EventContext;
use kev_core::{Event, SinkError, StoredEvent};

use super::config::LokiLabel;
use super::proto::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp};
use crate::template::Template;

/// The label of a stream whose labels all came out empty (Loki needs one).
const FALLBACK_LABEL: (&str, &str) = ("source", "kev");

/// A stream's label pairs, sorted by name.
pub(super) type Pairs = Vec<(String, String)>;

/// What goes into the labels of a stream.
pub(super) struct Labels<'a> {
    pub fields: &'a [LokiLabel],
    pub fixed: &'a [(String, String)],
}

/// A label value in Prometheus' text form: backslash, quote and newline escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Labels<'_> {
    /// The pairs for `event`; a label with an empty value is left out, as Loki would.
    fn of(&self, event: &Event) -> Pairs {
        let mut pairs: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|l| (l.name(), l.value(event)))
            .chain(self.fixed.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if pairs.is_empty() {
            pairs.push(FALLBACK_LABEL);
        }
        pairs.sort_unstable();
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// `{cluster="prod", namespace="web"}`.
fn text(pairs: &Pairs) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn timestamp(event: &Event) -> Timestamp {
    let t = event.time().unwrap_or_else(jiff::Timestamp::now);
    Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

/// Identifiers too many-valued for labels, on each entry.
fn metadata(event: &Event) -> Vec<LabelPairAdapter> {
    let key = event.idempotency_key();
    let count = event.count.to_string();
    [
        ("event_name", event.name.as_str()),
        ("event_uid", event.uid.as_str()),
        ("object_name", event.regarding.name.as_str()),
        ("object_uid", event.regarding.uid.as_str()),
        ("count", count.as_str()),
        ("kev_key", key.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, value)| LabelPairAdapter {
        name: name.to_owned(),
        value: value.to_owned(),
    })
    .collect()
}

/// The push request for `events`, with each stream's label pairs (for the JSON form).
pub(super) fn push_request(
    events: &[(&StoredEvent, Option<&EventContext>)],
    labels: &Labels<'_>,
    template: Option<&Template>,
) -> Result<(PushRequest, Vec<Pairs>), SinkError> {
    let mut streams: Vec<StreamAdapter> = Vec::new();
    let mut stream_pairs: Vec<Pairs> = Vec::new();
    let mut index: HashMap<Pairs, usize> = HashMap::new();
    for (stored, context) in events {
        let event = &stored.event;
        let line = match template {
            Some(t) => t.render(event, *context)?,
            None => serde_json::to_string(event)
                .map_err(|e| SinkError::permanent(format!("cannot encode the event: {e}")))?,
        };
        let entry = EntryAdapter {
            timestamp: Some(timestamp(event)),
            line,
            structured_metadata: metadata(event),
        };
        let pairs = labels.of(event);
        let i = *index.entry(pairs.clone()).or_insert_with(|| {
            streams.push(StreamAdapter {
                labels: text(&pairs),
                entries: Vec::new(),
                hash: 0,
            });
            stream_pairs.push(pairs);
            streams.len() - 1
        });
        streams[i].entries.push(entry);
    }
    for stream in &mut streams {
        // Stable: events of the same time keep their log order.
        stream.entries.sort_by_key(|e| e.timestamp);
    }
    Ok((PushRequest { streams }, stream_pairs))
}

/// The same request in Loki's JSON form:
/// `{"streams":[{"stream":{…},"values":[["<ns>","<line>",{…}]]}]}`.
pub(super) fn json_body(request: &PushRequest, pairs: &[Pairs]) -> Result<Vec<u8>, SinkError> {
    let streams: Vec<serde_json::Value> = request
        .streams
        .iter()
        .zip(pairs)
        .map(|(s, pairs)| {
            let values: Vec<serde_json::Value> = s
                .entries
                .iter()
                .map(|e| {
                    let t = e.timestamp.unwrap_or_default();
                    let ns = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
                    let meta: serde_json::Map<String, serde_json::Value> = e
                        .structured_metadata
                        .iter()
                        .map(|p| (p.name.clone(), p.value.clone().into()))
                        .collect();
                    serde_json::json!([ns.to_string(), e.line, meta])
                })
                .collect();
            let stream: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            serde_json::json!({"stream": stream, "values": values})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "streams": streams }))
        .map_err(|e| SinkError::permanent(format!("cannot encode the push body: {e}")))
}
