//! The bulk body: for each event an action line (`index` or, for a data stream,
//! `create`, with `_index` and `_id` = `uid/resourceVersion`) and the document: the
//! Event JSON with `@timestamp`, its label and annotation keys de-dotted.

use std::collections::BTreeMap;

use kev_core::{Event, SinkError};
use serde::Serialize;

use super::config::{Target, index_name};

/// A label or annotation key with its dots made underscores, as Beats and ECS write
/// Kubernetes labels: Elasticsearch reads a dot in a field name as an object path, so
/// `app` and `app.kubernetes.io/name` on two pods would make `labels.app` a string in
/// one document and an object in the other, and the second is refused.
///
/// ```
/// assert_eq!(kev_sinks::elasticsearch::dedot("app.kubernetes.io/name"), "app_kubernetes_io/name");
/// ```
pub fn dedot(key: &str) -> String {
    key.replace('.', "_")
}

fn dedotted(map: &BTreeMap<String, String>) -> BTreeMap<String, &str> {
    map.iter().map(|(k, v)| (dedot(k), v.as_str())).collect()
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: Option<jiff::Timestamp>,
    #[serde(flatten)]
    event: &'a Event,
    // These two replace the event's own maps (serde takes the last of equal keys).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, &'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, &'a str>,
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

/// Appends the two lines of `event` to `body`.
pub(super) fn append(body: &mut Vec<u8>, target: &Target, event: &Event) -> Result<(), SinkError> {
    let encode =
        |e: serde_json::Error| SinkError::permanent(format!("cannot encode the document: {e}"));
    let time = event.time();
    let index = match target {
        Target::Index(pattern) => index_name(pattern, time.unwrap_or_else(jiff::Timestamp::now))
            .map_err(SinkError::permanent)?,
        Target::DataStream(name) => name.clone(),
    };
    let key = event.idempotency_key();
    let meta = Meta {
        index: &index,
        id: key.as_str(),
    };
    let action = match target {
        Target::Index(_) => serde_json::json!({ "index": meta }),
        Target::DataStream(_) => serde_json::json!({ "create": meta }),
    };
    serde_json::to_writer(&mut *body, &action).map_err(encode)?;
    body.push(b'\n');
    let mut plain = event.clone();
    plain.labels.clear();
    plain.annotations.clear();
    let document = Document {
        timestamp: time,
        event: &plain,
        labels: dedotted(&event.labels),
        annotations: dedotted(&event.annotations),
    };
    serde_json::to_writer(&mut *body, &document).map_err(encode)?;
    body.push(b'\n');
    Ok(())
}
