//! Tests of the OTLP sink against a real OTLP/HTTP receiver on 127.0.0.1 built on the
//! official protobuf definitions: the record mapping, auth and headers, the answers
//! (partial success, 429 with `Retry-After`, 503, 400 with a `Status` body), timeouts,
//! a receiver that is down, and config validation.

use std::time::Duration;

use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, EventType, Sink};

use super::*;

#[path = "../../tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use otlp_receiver::{OtlpReceiver, Reply};

#[tokio::test]
async fn each_event_is_one_record_with_the_k8seventsreceiver_attributes() {
    let receiver = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let yaml = format!(
        "endpoint: {}\ntoken_file: {}\nheaders: {{X-Dataset: k8s}}\nresource_attributes: {{deployment.environment: prod}}\n",
        receiver.url(),
        token.display()
    );
    let config: OtlpSinkConfig = serde_norway::from_str(&yaml).unwrap();
    let sink = config.build().unwrap();
    let mut events = sample_events(1, 2);
    events[0].event.r#type = EventType::Warning;
    events[1].event.r#type = EventType::Normal;
    events[0].event.cluster = "prod-eu-1".into();
    events[0].event.source_host = "node-1".into();
    events[0].event.regarding.field_path = "spec.containers{app}".into();
    sink.deliver(Batch::new(&events)).await.unwrap();

    let seen = receiver.seen();
    assert_eq!(seen.len(), 1, "one request per batch");
    assert_eq!(seen[0].path, "/v1/logs");
    assert_eq!(seen[0].headers["content-type"], "application/x-protobuf");
    assert_eq!(seen[0].headers["authorization"], "Bearer s3cret");
    assert_eq!(seen[0].headers["x-dataset"], "k8s");
    let records = receiver.accepted();
    assert_eq!(records.len(), 2);
    let (r, e) = (&records[0], &events[0].event);
    assert_eq!(
        r.resource_attr("k8s.cluster.name").as_deref(),
        Some("prod-eu-1")
    );
    assert_eq!(r.resource_attr("k8s.node.name").as_deref(), Some("node-1"));
    assert_eq!(
        r.resource_attr("k8s.object.kind"),
        Some(e.regarding.kind.clone())
    );
    assert_eq!(
        r.resource_attr("k8s.object.name"),
        Some(e.regarding.name.clone())
    );
    assert_eq!(
        r.resource_attr("k8s.object.uid"),
        Some(e.regarding.uid.clone())
    );
    assert_eq!(
        r.resource_attr("k8s.object.api_version"),
        Some(e.regarding.api_version.clone())
    );
    assert_eq!(
        r.resource_attr("k8s.object.fieldpath").as_deref(),
        Some("spec.containers{app}")
    );
    assert_eq!(
        r.resource_attr("deployment.environment").as_deref(),
        Some("prod")
    );
    assert_eq!(r.attr("k8s.event.reason"), Some(e.reason.clone()));
    assert_eq!(r.attr("k8s.event.name"), Some(e.name.clone()));
    assert_eq!(r.attr("k8s.event.uid"), Some(e.uid.clone()));
    assert_eq!(r.attr("k8s.namespace.name"), Some(e.namespace.clone()));
    assert_eq!(r.attr("k8s.event.count"), Some(e.count.to_string()));
    assert_eq!(
        r.attr("kev.event.key"),
        Some(e.idempotency_key().to_string())
    );
    assert_eq!(r.body(), e.message);
    assert_eq!(r.record.severity_text, "Warning");
    assert_eq!(r.record.severity_number, 13, "WARN");
    assert_eq!(records[1].record.severity_number, 9, "INFO");
    let time = e.time().unwrap().as_nanosecond() as u64;
    assert_eq!(r.record.time_unix_nano, time);
    assert!(r.record.observed_time_unix_nano > 0);
}

#[tokio::test]
async fn a_body_template_renders_the_log_body() {
    let receiver = OtlpReceiver::start().await;
    let config = OtlpSinkConfig {
        body_template: Some("{{ event.reason }}: {{ event.message }}".into()),
        ..OtlpSinkConfig::new(format!("{}/custom/logs", receiver.url()))
    };
    let sink = config.build().unwrap();
    let events = sample_events(1, 1);
    sink.deliver(Batch::new(&events)).await.unwrap();
    assert_eq!(
        receiver.seen()[0].path,
        "/custom/logs",
        "a full URL is kept"
    );
    let e = &events[0].event;
    assert_eq!(
        receiver.accepted()[0].body(),
        format!("{}: {}", e.reason, e.message)
    );
}

#[tokio::test]
async fn answers_are_classified() {
    let receiver = OtlpReceiver::start().await;
    let sink = OtlpSinkConfig::new(receiver.url()).build().unwrap();
    let events = sample_events(1, 3);
    let deliver = || sink.deliver(Batch::new(&events));

    receiver.behave(|_| Reply {
        status: 429,
        retry_after: Some("3".into()),
        ..Default::default()
    });
    let err = deliver().await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
    assert!(
        err.message.contains("the receiver is busy"),
        "the Status message: {err}"
    );

    receiver.behave(|_| Reply::status(503));
    assert!(deliver().await.unwrap_err().retryable);

    receiver.behave(|_| Reply::status(400));
    let err = deliver().await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(err.message.contains("400"), "{err}");

    receiver.behave(|_| Reply {
        status: 200,
        reject: vec![1],
        ..Default::default()
    });
    let err = deliver().await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(err.message.contains("rejected 1 of 3 records"), "{err}");
    assert!(err.message.contains("reason Reject is refused"), "{err}");

    receiver.behave(|_| Reply::ok());
    deliver().await.unwrap();
}

#[tokio::test]
async fn a_slow_receiver_and_a_receiver_that_is_down_are_retryable() {
    let receiver = OtlpReceiver::start().await;
    receiver.behave(|_| Reply {
        status: 200,
        delay: Some(Duration::from_secs(5)),
        ..Default::default()
    });
    let sink = OtlpSinkConfig {
        timeout: Duration::from_millis(100),
        ..OtlpSinkConfig::new(receiver.url())
    }
    .build()
    .unwrap();
    let events = sample_events(1, 1);
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(
        err.retryable && err.message.contains("no answer within"),
        "{err}"
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = OtlpSinkConfig::new(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = down.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(
        err.retryable && err.message.starts_with("cannot connect"),
        "{err}"
    );
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            "endpoint: collector:4318",
            "endpoint",
            "scheme must be http or https",
        ),
        (
            "{endpoint: 'http://c/', token: x}",
            "token",
            "not accepted in clear",
        ),
        (
            "{endpoint: 'http://c/', headers: {Authorization: x}}",
            "headers.Authorization",
            "not accepted in clear",
        ),
        (
            "{endpoint: 'http://c/', body_template: '{% if %}'}",
            "body_template",
            "syntax error",
        ),
        (
            "{endpoint: 'http://c/', resource_attributes: {k8s.object.kind: x}}",
            "resource_attributes.k8s.object.kind",
            "kev sets",
        ),
        (
            "{endpoint: 'http://c/', timeout: 0s}",
            "timeout",
            "more than 0",
        ),
        (
            "{endpoint: 'http://c/', token_file: /t, token_env: T}",
            "token_file",
            "only one of",
        ),
    ];
    for (yaml, field, message) in cases {
        let config: OtlpSinkConfig = serde_norway::from_str(yaml).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with(&format!("{field}: ")), "{yaml}: {err}");
        assert!(err.contains(message), "{yaml}: {err}");
    }
}
