//! Tests of the Loki sink against a Loki push endpoint on 127.0.0.1 that follows Loki's
//! documented API: both encodings, streams and their bounded labels, tenant, structured
//! metadata, in-stream order, the answers Loki gives, and config validation.

use std::time::Duration;

use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, Event, Sink, StoredEvent};

use super::*;

#[path = "../../tests/support/loki_receiver.rs"]
mod loki_receiver;

use loki_receiver::{Fault, LokiReceiver};

/// Six events in two namespaces, their times out of log order.
fn events() -> Vec<StoredEvent> {
    let mut events = sample_events(1, 6);
    for (i, s) in events.iter_mut().enumerate() {
        s.event.cluster = "prod".into();
        s.event.r#type = kev_core::EventType::Warning;
        s.event.regarding.kind = "Pod".into();
        s.event.namespace = if i % 2 == 0 { "web" } else { "db" }.into();
        let secs = [50, 10, 40, 20, 30, 5][i];
        s.event.last_seen = Some(jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap());
    }
    events
}

async fn pushed_in(encoding: LokiEncoding) {
    let receiver = LokiReceiver::start_ordered().await;
    let yaml = format!(
        "url: {}\ntenant: team-a\nstatic_labels: {{job: kev}}\n",
        receiver.url()
    );
    let config = serde_norway::from_str::<LokiSinkConfig>(&yaml)
        .unwrap()
        .encoding(encoding);
    let sink = config.build().unwrap();
    let events = events();
    sink.deliver(Batch::new(&events)).await.unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let (status, headers) = &requests[0];
    assert_eq!(*status, 204, "{:?}", receiver.refused());
    assert_eq!(headers["x-scope-orgid"], "team-a");
    match encoding {
        LokiEncoding::Protobuf => {
            assert_eq!(headers["content-type"], "application/x-protobuf");
            assert_eq!(headers["content-encoding"], "snappy");
        }
        LokiEncoding::Json => assert_eq!(headers["content-type"], "application/json"),
    }
    let streams = &receiver.streams()["team-a"];
    assert_eq!(streams.len(), 2, "one stream per namespace: {streams:?}");
    let kind = events[0].event.regarding.kind.clone();
    let kind_type = events[0].event.r#type.as_str().to_owned();
    for (labels, entries) in streams {
        let names: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(names, ["cluster", "job", "kind", "namespace", "type"]);
        assert_eq!(labels["cluster"], "prod");
        assert_eq!(labels["kind"], kind);
        assert_eq!(labels["type"], kind_type);
        assert_eq!(entries.len(), 3);
        assert!(
            entries.windows(2).all(|w| w[0].ns <= w[1].ns),
            "in time order"
        );
        for entry in entries {
            let event: Event = serde_json::from_str(&entry.line).unwrap();
            assert_eq!(event.namespace, labels["namespace"]);
            assert_eq!(event.time().unwrap().as_nanosecond(), entry.ns);
            assert_eq!(
                entry.metadata["kev_key"],
                event.idempotency_key().to_string()
            );
            assert_eq!(entry.metadata["event_uid"], event.uid);
            assert_eq!(entry.metadata["object_name"], event.regarding.name);
            assert_eq!(entry.metadata["count"], event.count.to_string());
        }
    }
}

#[tokio::test]
async fn protobuf_snappy_pushes_streams_with_bounded_labels_in_time_order() {
    pushed_in(LokiEncoding::Protobuf).await;
}

#[tokio::test]
async fn json_pushes_the_same_streams() {
    pushed_in(LokiEncoding::Json).await;
}

#[tokio::test]
async fn configured_labels_and_a_line_template() {
    let receiver = LokiReceiver::start().await;
    let config = LokiSinkConfig {
        labels: vec![LokiLabel::Namespace, LokiLabel::Reason],
        line_template: Some("{{ event.reason }} {{ event.regarding.name }}".into()),
        ..LokiSinkConfig::new(receiver.url())
    };
    let sink = config.build().unwrap();
    let events = events();
    sink.deliver(Batch::new(&events[..1])).await.unwrap();
    let streams = &receiver.streams()[""];
    let (labels, entries) = streams.iter().next().unwrap();
    let e = &events[0].event;
    assert_eq!(labels.len(), 2);
    assert_eq!(labels["reason"], e.reason);
    assert_eq!(
        entries[0].line,
        format!("{} {}", e.reason, e.regarding.name)
    );
}

#[tokio::test]
async fn a_push_again_is_dropped_by_loki_and_answers_are_classified() {
    let receiver = LokiReceiver::start().await;
    let sink = LokiSinkConfig::new(receiver.url()).build().unwrap();
    let events = events();
    sink.deliver(Batch::new(&events)).await.unwrap();
    sink.deliver(Batch::new(&events)).await.unwrap();
    let total: usize = receiver.streams()[""].values().map(Vec::len).sum();
    assert_eq!(total, 6, "the second push stored nothing twice");

    receiver.behave(|_| {
        Some(Fault {
            status: 429,
            retry_after: Some("2".into()),
            delay: None,
        })
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(2)));
    assert!(
        err.message.contains("Ingestion rate limit exceeded"),
        "{err}"
    );

    receiver.behave(|_| {
        Some(Fault {
            status: 503,
            ..Default::default()
        })
    });
    assert!(
        sink.deliver(Batch::new(&events))
            .await
            .unwrap_err()
            .retryable
    );

    receiver.behave(|_| None);
    receiver.reject_older_than(i128::from(1_700_000_045) * 1_000_000_000);
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(err.message.contains("HTTP 400"), "{err}");
    assert!(
        err.message.contains("has timestamp too old"),
        "Loki's message: {err}"
    );
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        ("url: loki:3100", "url", "scheme must be http or https"),
        ("{url: 'http://l/', labels: []}", "labels", "at least one"),
        (
            "{url: 'http://l/', labels: [namespace, namespace]}",
            "labels[1]",
            "twice",
        ),
        (
            "{url: 'http://l/', labels: [cluster, namespace, type, kind, reason, reporting_controller, source_host], static_labels: {a: b, c: d}}",
            "labels",
            "at most 8",
        ),
        (
            "{url: 'http://l/', static_labels: {'bad-name': x}}",
            "static_labels.bad-name",
            "not a Loki label name",
        ),
        (
            "{url: 'http://l/', static_labels: {kind: x}}",
            "static_labels.kind",
            "also an event label",
        ),
        (
            "{url: 'http://l/', headers: {X-Scope-OrgID: t}}",
            "headers.X-Scope-OrgID",
            "tenant",
        ),
        (
            "{url: 'http://l/', line_template: '{{ nope }}'}",
            "line_template",
            "unknown name",
        ),
        (
            "{url: 'http://l/', token: x}",
            "token",
            "not accepted in clear",
        ),
    ];
    for (yaml, field, message) in cases {
        let config: LokiSinkConfig = serde_norway::from_str(yaml).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with(&format!("{field}: ")), "{yaml}: {err}");
        assert!(err.contains(message), "{yaml}: {err}");
    }
}
