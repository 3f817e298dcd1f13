//! Tests of the Elasticsearch sink against a bulk endpoint on 127.0.0.1 that follows the
//! documented bulk API: documents and their `_id`, index patterns and data streams,
//! de-dotted labels, per-item results, whole-request failures, config validation.

use std::time::Duration;

use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, Sink, StoredEvent};

use super::*;

#[path = "../../tests/support/es_receiver.rs"]
mod es_receiver;

use es_receiver::{EsReceiver, Fault};

fn events() -> Vec<StoredEvent> {
    let mut events = sample_events(1, 4);
    for (i, s) in events.iter_mut().enumerate() {
        s.event.last_seen =
            Some(jiff::Timestamp::from_second(1_700_000_000 + 86_400 * (i as i64 % 2)).unwrap());
    }
    // `app` on one, `app.kubernetes.io/name` on another: raw, the second would conflict.
    events[0].event.labels.insert("app".into(), "web".into());
    events[1]
        .event
        .labels
        .insert("app.kubernetes.io/name".into(), "web".into());
    events[1]
        .event
        .annotations
        .insert("kubectl.kubernetes.io/restartedAt".into(), "now".into());
    events
}

#[tokio::test]
async fn documents_get_their_id_their_dated_index_and_safe_label_keys() {
    let receiver = EsReceiver::start().await;
    let sink = ElasticsearchSinkConfig::new(receiver.url())
        .build()
        .unwrap();
    let events = events();
    sink.deliver(Batch::new(&events)).await.unwrap();
    sink.deliver(Batch::new(&events)).await.unwrap();

    let indices = receiver.indices();
    let names: Vec<&String> = indices.keys().collect();
    assert_eq!(names, ["kev-events-2023.11.14", "kev-events-2023.11.15"]);
    let all: Vec<(&String, &es_receiver::Doc)> = indices.values().flatten().collect();
    assert_eq!(all.len(), 4, "sent twice, one document per event");
    for s in &events {
        let key = s.event.idempotency_key().to_string();
        let (_, doc) = all
            .iter()
            .find(|(id, _)| **id == key)
            .expect("document by _id");
        assert_eq!(doc.version, 2, "the second delivery overwrote the same _id");
        assert_eq!(doc.source["uid"], s.event.uid.as_str());
        assert_eq!(
            doc.source["@timestamp"],
            serde_json::to_value(s.event.time().unwrap()).unwrap()
        );
    }
    let second = &all
        .iter()
        .find(|(id, _)| **id == events[1].event.idempotency_key().to_string())
        .unwrap()
        .1
        .source;
    assert_eq!(second["labels"]["app_kubernetes_io/name"], "web");
    assert_eq!(
        second["annotations"]["kubectl_kubernetes_io/restartedAt"],
        "now"
    );
}

#[tokio::test]
async fn a_data_stream_is_written_with_create_and_a_repeat_is_no_second_document() {
    let receiver = EsReceiver::start().await;
    let sink = ElasticsearchSinkConfig::new(receiver.url())
        .data_stream("logs-kev-default")
        .build()
        .unwrap();
    let events = events();
    sink.deliver(Batch::new(&events)).await.unwrap();
    sink.deliver(Batch::new(&events)).await.unwrap();
    let docs = &receiver.indices()["logs-kev-default"];
    assert_eq!(docs.len(), 4);
    assert!(docs.values().all(|d| d.version == 1));
    assert_eq!(
        receiver.requests()[1],
        [409, 409, 409, 409],
        "answered as conflicts"
    );
}

#[tokio::test]
async fn item_results_say_what_was_written_and_what_is_retried_or_refused() {
    let receiver = EsReceiver::start().await;
    let sink = ElasticsearchSinkConfig::new(receiver.url())
        .build()
        .unwrap();
    let events = events();

    receiver.reject_once(events[2].event.idempotency_key().as_str());
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.delivered, 2);
    assert!(
        err.message.contains("es_rejected_execution_exception"),
        "{err}"
    );

    // `count` mapped as text by an earlier document: the item's mapping error.
    receiver.map("kev-events-2023.11.15", "count", "boolean");
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert_eq!(
        err.delivered, 1,
        "the first event's index has no such mapping"
    );
    assert!(
        err.message.contains("document_parsing_exception") && err.message.contains("[count]"),
        "{err}"
    );

    receiver.behave(|_| {
        Some(Fault {
            status: 429,
            retry_after: Some("4".into()),
            delay: None,
        })
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(
        err.retryable && err.retry_after == Some(Duration::from_secs(4)),
        "{err}"
    );
    receiver.behave(|_| {
        Some(Fault {
            status: 503,
            ..Default::default()
        })
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable && err.message.contains("no master"), "{err}");
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        ("url: es:9200", "url", "scheme must be http or https"),
        ("{url: 'http://e/', index: 'Kev-%Y'}", "index", "lowercase"),
        (
            "{url: 'http://e/', index: 'kev %Y'}",
            "index",
            "not a valid index name",
        ),
        (
            "{url: 'http://e/', index: 'kev-%'}",
            "index",
            "not a date pattern",
        ),
        (
            "{url: 'http://e/', data_stream: 'logs-%Y'}",
            "data_stream",
            "no date pattern",
        ),
        (
            "{url: 'http://e/', index: a, data_stream: b}",
            "data_stream",
            "one of",
        ),
        (
            "{url: 'http://e/', basic_auth: {username: u}}",
            "basic_auth.password_file",
            "exactly one",
        ),
        (
            "{url: 'http://e/', token: x}",
            "token",
            "not accepted in clear",
        ),
        ("{url: 'http://e/', flavor: solr}", "", ""),
    ];
    for (yaml, field, message) in cases {
        let parsed = serde_norway::from_str::<ElasticsearchSinkConfig>(yaml);
        if field.is_empty() {
            assert!(
                parsed
                    .unwrap_err()
                    .to_string()
                    .contains("unknown variant `solr`")
            );
            continue;
        }
        let err = parsed.unwrap().validate().unwrap_err().to_string();
        assert!(err.starts_with(&format!("{field}: ")), "{yaml}: {err}");
        assert!(err.contains(message), "{yaml}: {err}");
    }
}

#[test]
fn the_index_templates_in_deploy_map_every_field_kev_writes() {
    let mut s = events().remove(1);
    s.event.related = Some(s.event.regarding.clone());
    s.event.truncated = true;
    s.event.first_seen = s.event.last_seen;
    let mut body = Vec::new();
    super::document::append(
        &mut body,
        &super::config::Target::Index("i".into()),
        &s.event,
    )
    .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(body.split(|b| *b == b'\n').nth(1).unwrap()).unwrap();
    for file in ["elasticsearch.json", "opensearch.json"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/elasticsearch")
            .join(file);
        let template: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mapped = &template["template"]["mappings"]["properties"];
        for (field, value) in doc.as_object().unwrap() {
            assert!(
                mapped.get(field).is_some(),
                "{file}: `{field}` is not mapped"
            );
            if let Some(inner) = value
                .as_object()
                .filter(|_| field == "regarding" || field == "related")
            {
                for key in inner.keys() {
                    assert!(
                        mapped[field]["properties"].get(key).is_some(),
                        "{file}: `{field}.{key}` is not mapped"
                    );
                }
            }
        }
        assert_eq!(template["index_patterns"][0], "kev-events-*");
    }
}
