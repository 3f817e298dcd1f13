//! Tests of the Alertmanager sink against a local HTTP receiver (payload shape, answers,
//! faults) and of its config; the real Alertmanager is in kev-tests'
//! `alertmanager_sink` suite.

use std::time::Duration;

use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, EventType, Sink, StoredEvent};

use super::*;

use crate::test_receiver::{Receiver, Reply};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

/// A BackOff on pod web/api-0, then its recovery (`Started`), then a Node event.
fn events() -> Vec<StoredEvent> {
    let mut events = sample_events(1, 3);
    for (i, s) in events.iter_mut().enumerate() {
        let e = &mut s.event;
        e.cluster = "prod".into();
        e.namespace = "web".into();
        e.regarding.kind = "Pod".into();
        e.regarding.namespace = "web".into();
        e.regarding.name = "api-0".into();
        e.r#type = EventType::Warning;
        e.reason = "BackOff".into();
        e.message = "Back-off restarting failed container".into();
        e.count = 4;
        e.first_seen = Some(at(0));
        e.last_seen = Some(at(10 * i64::try_from(i).unwrap()));
        if i == 1 {
            e.r#type = EventType::Normal;
            e.reason = "Started".into();
            e.message = "Started container api".into();
        }
        if i == 2 {
            e.namespace = String::new();
            e.regarding.namespace = String::new();
            e.regarding.kind = "Node".into();
            e.regarding.name = "node-1".into();
            e.reason = "NodeNotReady".into();
        }
    }
    events
}

fn posted(receiver: &Receiver) -> Vec<Vec<Alert>> {
    receiver
        .seen()
        .iter()
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_batch_is_one_post_of_alerts_with_bounded_labels_and_templated_annotations() {
    let receiver = Receiver::start().await;
    let sink = AlertmanagerSinkConfig::new(receiver.url(""))
        .ui_url("https://kev.example.com/")
        .build()
        .unwrap();
    let events = events();
    sink.deliver(Batch::new(&events[..1])).await.unwrap();
    sink.deliver(Batch::new(&events[2..])).await.unwrap();

    let seen = receiver.seen();
    assert_eq!(seen[0].path, "/api/v2/alerts");
    assert_eq!(seen[0].headers["content-type"], "application/json");
    let posted = posted(&receiver);
    let [pod] = posted[0].as_slice() else {
        panic!("{posted:?}")
    };
    let labels: Vec<(&str, &str)> = pod
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("alertname", "BackOff"),
            ("cluster", "prod"),
            ("kind", "Pod"),
            ("name", "api-0"),
            ("namespace", "web"),
            ("severity", "warning"),
        ]
    );
    assert_eq!(pod.annotations["summary"], "BackOff on Pod web/api-0");
    assert_eq!(
        pod.annotations["description"],
        "Back-off restarting failed container (seen 4 times)"
    );
    assert_eq!(pod.starts_at, Some(at(0)));
    assert_eq!(
        pod.ends_at,
        Some(at(300)),
        "the event's time + resolve_timeout"
    );
    assert_eq!(
        pod.generator_url.as_deref(),
        Some("https://kev.example.com/objects/Pod/web/api-0")
    );
    let [node] = posted[1].as_slice() else {
        panic!("{posted:?}")
    };
    assert!(!node.labels.contains_key("namespace"), "empty: left out");
    assert_eq!(node.annotations["summary"], "NodeNotReady on Node node-1");
    assert_eq!(
        node.generator_url.as_deref(),
        Some("https://kev.example.com/objects/Node/_/node-1")
    );
}

#[tokio::test]
async fn a_recovery_event_resolves_the_failure_alerts_of_its_object() {
    let receiver = Receiver::start().await;
    let sink = AlertmanagerSinkConfig::new(receiver.url(""))
        .build()
        .unwrap();
    let events = events();
    // Apart: the resolving alerts carry no start (Alertmanager keeps the one it has).
    sink.deliver(Batch::new(&events[1..2])).await.unwrap();
    // Together: one alert per label set, from the failure's start to the recovery.
    sink.deliver(Batch::new(&events[..2])).await.unwrap();

    let posted = posted(&receiver);
    let names: Vec<&str> = posted[0]
        .iter()
        .map(|a| a.labels["alertname"].as_str())
        .collect();
    assert_eq!(
        names,
        ["BackOff", "CrashLoopBackOff"],
        "the BackOff rule's reasons"
    );
    for alert in &posted[0] {
        assert_eq!(
            alert.labels["severity"], "warning",
            "the failure's severity"
        );
        assert_eq!(alert.labels["name"], "api-0");
        assert_eq!((alert.starts_at, alert.ends_at), (None, Some(at(10))));
    }
    let backoff: Vec<&Alert> = posted[1]
        .iter()
        .filter(|a| a.labels["alertname"] == "BackOff")
        .collect();
    assert_eq!(backoff.len(), 1, "{:?}", posted[1]);
    assert_eq!(
        (backoff[0].starts_at, backoff[0].ends_at),
        (Some(at(0)), Some(at(10)))
    );

    let off = AlertmanagerSinkConfig {
        resolve_on_recovery: false,
        ..AlertmanagerSinkConfig::new(receiver.url(""))
    }
    .build()
    .unwrap();
    receiver.clear();
    off.deliver(Batch::new(&events[1..2])).await.unwrap();
    let started = &self::posted(&receiver)[0][0];
    assert_eq!(started.labels["alertname"], "Started");
    assert_eq!(started.labels["severity"], "info");
}

#[tokio::test]
async fn configured_labels_static_labels_and_annotations() {
    let receiver = Receiver::start().await;
    let yaml = format!(
        "url: {}\nlabels: [alertname, namespace]\nstatic_labels: {{team: sre}}\nannotations: {{runbook: 'https://runbooks/{{{{ event.reason }}}}'}}\nresolve_timeout: 1h\n",
        receiver.url("")
    );
    let sink = serde_norway::from_str::<AlertmanagerSinkConfig>(&yaml)
        .unwrap()
        .build()
        .unwrap();
    let events = events();
    sink.deliver(Batch::new(&events[..1])).await.unwrap();
    let alert = &posted(&receiver)[0][0];
    assert_eq!(alert.labels.len(), 3);
    assert_eq!(alert.labels["team"], "sre");
    assert_eq!(alert.annotations.len(), 1);
    assert_eq!(alert.annotations["runbook"], "https://runbooks/BackOff");
    assert_eq!(alert.ends_at, Some(at(3600)));
    assert_eq!(alert.generator_url, None, "no ui_url");
}

#[tokio::test]
async fn answers_and_faults_are_classified() {
    let receiver = Receiver::start().await;
    let sink = AlertmanagerSinkConfig::new(receiver.url(""))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let events = events();
    let batch = || Batch::new(&events);

    receiver.behave(|_| Reply {
        status: 429,
        retry_after: Some("3".into()),
        ..Default::default()
    });
    let err = sink.deliver(batch()).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(3)));

    receiver.behave(|_| Reply::status(503));
    assert!(sink.deliver(batch()).await.unwrap_err().retryable);

    receiver.behave(|_| Reply {
        status: 200,
        delay: Some(Duration::from_secs(2)),
        ..Default::default()
    });
    let err = sink.deliver(batch()).await.unwrap_err();
    assert!(err.retryable && err.message.contains("no answer"), "{err}");

    receiver.behave(|_| Reply {
        status: 400,
        body: Some(r#"{"code":400,"message":"start time must be before end time"}"#.into()),
        ..Default::default()
    });
    let err = sink.deliver(batch()).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(
        err.message.contains("start time must be before end time"),
        "{err}"
    );

    let down = AlertmanagerSinkConfig::new(format!("http://{}", receiver.addr));
    drop(receiver);
    let err = down.build().unwrap().deliver(batch()).await.unwrap_err();
    assert!(err.retryable, "{err}");
}

#[test]
fn validation_names_the_field() {
    let check = |yaml: &str| {
        serde_norway::from_str::<AlertmanagerSinkConfig>(&format!("url: http://am:9093\n{yaml}"))
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.to_string()))
    };
    assert!(check("").is_ok());
    assert!(
        check("labels: [namespace]")
            .unwrap_err()
            .starts_with("labels: must contain alertname")
    );
    assert!(
        check("labels: [alertname, kind, kind]")
            .unwrap_err()
            .starts_with("labels[2]: kind is listed twice")
    );
    assert!(
        check("static_labels: {kind: x}")
            .unwrap_err()
            .starts_with("static_labels.kind: ")
    );
    assert!(
        check("static_labels: {a-b: x}")
            .unwrap_err()
            .starts_with("static_labels.a-b: ")
    );
    let many = "static_labels: {a: 1, b: 2, c: 3, d: 4, e: 5}";
    assert!(
        check(many)
            .unwrap_err()
            .starts_with("labels: 11 labels, at most 10")
    );
    assert!(
        check("annotations: {summary: '{{ nope }}'}")
            .unwrap_err()
            .starts_with("annotations.summary: ")
    );
    assert!(
        check("resolve_timeout: 0s")
            .unwrap_err()
            .starts_with("resolve_timeout: ")
    );
    assert!(check("token: abc").unwrap_err().starts_with("token: "));
    assert!(check("ui_url: kev").unwrap_err().starts_with("ui_url: "));
    assert!(
        check("headers: {Authorization: x}")
            .unwrap_err()
            .starts_with("headers.Authorization: ")
    );
    assert!(
        check("labelz: []")
            .unwrap_err()
            .contains("unknown field `labelz`")
    );
}
