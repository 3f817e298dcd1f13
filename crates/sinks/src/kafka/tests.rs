//! Tests of the Kafka sink against a broker that speaks the Kafka protocol
//! (`tests/support/kafka_broker.rs`, built on `kafka-protocol`): the conformance suite,
//! keys and partitions, acks, values, compression, SASL, and faults (not leader, request
//! timed out, a lost answer, the broker down) with 0 events lost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kev_core::testkit::sink::{Fault, SinkHarness, check_sink, sample_events};
use kev_core::{Batch, Event, Sink, StoredEvent};

use super::*;
use crate::kee::EventFormat;

#[path = "../../tests/support/kafka_broker.rs"]
mod kafka_broker;

use kafka_broker::{
    Broker, Fault as BrokerFault, MESSAGE_TOO_LARGE, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
};

fn config(broker: &Broker, topic: &str) -> KafkaSinkConfig {
    KafkaSinkConfig {
        timeout: Duration::from_secs(3),
        ..KafkaSinkConfig::new(vec![broker.bootstrap()], topic)
    }
}

fn decoded(broker: &Broker) -> Vec<Event> {
    broker
        .records()
        .iter()
        .map(|r| serde_json::from_value(r.json()).unwrap())
        .collect()
}

struct Harness {
    broker: Option<Broker>,
}

#[async_trait]
impl SinkHarness for Harness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        let broker = Broker::start("events", 1).await;
        let sink = config(&broker, "events").build().unwrap();
        self.broker = Some(broker);
        Arc::new(sink)
    }

    async fn received(&mut self) -> Vec<Event> {
        self.broker.as_ref().map(decoded).unwrap_or_default()
    }

    async fn fail(&mut self, fault: Fault) -> bool {
        let code = match fault {
            Fault::Retryable => REQUEST_TIMED_OUT,
            Fault::Permanent => MESSAGE_TOO_LARGE,
        };
        if let Some(b) = &self.broker {
            b.set_failing(Some(code));
        }
        true
    }

    async fn heal(&mut self) {
        if let Some(b) = &self.broker {
            b.set_failing(None);
        }
    }
}

#[tokio::test]
async fn kafka_sink_passes_the_conformance_suite() {
    check_sink(&mut Harness { broker: None }).await;
}

#[tokio::test]
async fn records_are_keyed_by_object_uid_in_the_java_partition_with_acks_all() {
    let broker = Broker::start("events", 6).await;
    let sink = config(&broker, "events").build().unwrap();
    let batch = sample_events(1, 40);
    sink.deliver(Batch::new(&batch)).await.unwrap();
    let records = broker.records();
    assert_eq!(records.len(), 40);
    for stored in &batch {
        let record = records
            .iter()
            .find(|r| {
                r.header("kev-key").as_deref() == Some(stored.event.idempotency_key().as_str())
            })
            .unwrap();
        let key = stored.event.regarding.uid.as_bytes();
        assert_eq!(record.key.as_deref(), Some(key));
        assert_eq!(record.partition as u32, partition_for(key, 6));
        assert_eq!(record.json(), serde_json::to_value(&stored.event).unwrap());
        let at = stored.event.time().unwrap().as_millisecond();
        assert_eq!(record.timestamp, at);
    }
    let used: std::collections::BTreeSet<i32> = records.iter().map(|r| r.partition).collect();
    assert!(used.len() > 1, "40 objects in one partition of 6: {used:?}");
    assert!(
        broker.acks().iter().all(|a| *a == -1),
        "{:?}",
        broker.acks()
    );
    // One produce request per partition that has records.
    assert_eq!(broker.produce_requests(), used.len());
}

#[tokio::test]
async fn one_objects_events_stay_in_order_in_one_partition() {
    let broker = Broker::start("events", 4).await;
    let sink = config(&broker, "events").build().unwrap();
    let mut batch = sample_events(1, 10);
    for s in &mut batch {
        s.event.regarding.uid = "same-pod".into();
    }
    sink.deliver(Batch::new(&batch)).await.unwrap();
    let records = broker.records();
    let partitions: std::collections::BTreeSet<i32> = records.iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 1);
    let uids: Vec<String> = decoded(&broker).into_iter().map(|e| e.uid).collect();
    let sent: Vec<String> = batch.iter().map(|s| s.event.uid.clone()).collect();
    assert_eq!(uids, sent);
}

#[test]
fn murmur2_matches_kafkas_test_vectors() {
    // Kafka's UtilsTest.testMurmur2.
    for (data, hash) in [
        (&b"21"[..], -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58897971,
        ),
        (b"abc", 479470107),
    ] {
        assert_eq!(murmur2(data), hash, "{}", String::from_utf8_lossy(data));
    }
}

#[tokio::test]
async fn format_kee_and_template_values() {
    let broker = Broker::start("kee", 1).await;
    let sink = KafkaSinkConfig {
        format: EventFormat::Kee,
        ..config(&broker, "kee")
    }
    .build()
    .unwrap();
    let batch = [crate::kee::tests::sample()];
    sink.deliver(Batch::new(&batch)).await.unwrap();
    assert_eq!(broker.records()[0].json(), crate::kee::tests::expected());

    let broker = Broker::start("t", 1).await;
    let sink = KafkaSinkConfig {
        template: Some("{{ event.reason }} {{ event.regarding.name }}".into()),
        ..config(&broker, "t")
    }
    .build()
    .unwrap();
    sink.deliver(Batch::new(&batch)).await.unwrap();
    assert_eq!(
        broker.records()[0].value.as_deref(),
        Some(&b"BackOff web-7d4b9c8f6-x2x4z"[..])
    );
}

#[tokio::test]
async fn gzip_and_snappy_batches_decode_to_the_events() {
    for (compression, name) in [
        (KafkaCompression::Gzip, "Gzip"),
        (KafkaCompression::Snappy, "Snappy"),
    ] {
        let broker = Broker::start("events", 1).await;
        let sink = KafkaSinkConfig {
            compression,
            ..config(&broker, "events")
        }
        .build()
        .unwrap();
        let batch = sample_events(1, 20);
        sink.deliver(Batch::new(&batch)).await.unwrap();
        let events: Vec<Event> = batch.iter().map(|s| s.event.clone()).collect();
        assert_eq!(decoded(&broker), events);
        assert!(broker.records().iter().all(|r| r.compression == name));
    }
}

#[tokio::test]
async fn sasl_plain_authenticates_and_a_wrong_password_is_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let broker = Broker::start_sasl("events", 1, "kev", "s3cret").await;
    let sasl = |file: &std::path::Path| {
        serde_norway::from_str::<SaslConfig>(&format!(
            "{{mechanism: plain, username: kev, password_file: {}}}",
            file.display()
        ))
        .unwrap()
    };
    let sink = KafkaSinkConfig {
        sasl: Some(sasl(&password)),
        ..config(&broker, "events")
    }
    .build()
    .unwrap();
    let batch = sample_events(1, 3);
    sink.deliver(Batch::new(&batch)).await.unwrap();
    assert_eq!(broker.records().len(), 3);

    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "guess").unwrap();
    let sink = KafkaSinkConfig {
        sasl: Some(sasl(&wrong)),
        timeout: Duration::from_millis(500),
        ..config(&broker, "events")
    }
    .build()
    .unwrap();
    let err = sink.deliver(Batch::new(&batch)).await.unwrap_err();
    assert!(err.retryable);
    assert!(!err.message.contains("guess"), "{}", err.message);
    assert_eq!(broker.records().len(), 3);
}

/// Delivers `batch` as the route does: again from the first unacknowledged event after
/// a retryable failure. Returns how many attempts it took.
async fn deliver_with_retries(sink: &KafkaSink, batch: &[StoredEvent]) -> usize {
    let mut done = 0;
    for attempt in 1..=20 {
        match sink.deliver(Batch::new(&batch[done..])).await {
            Ok(()) => return attempt,
            Err(e) => {
                assert!(e.retryable, "{e:?}");
                done += e.delivered;
            }
        }
    }
    panic!("not delivered in 20 attempts");
}

fn assert_all_there_with_same_keys(broker: &Broker, batch: &[StoredEvent]) {
    let records = broker.records();
    for stored in batch {
        let copies: Vec<_> = records
            .iter()
            .filter(|r| {
                r.header("kev-key").as_deref() == Some(stored.event.idempotency_key().as_str())
            })
            .collect();
        assert!(!copies.is_empty(), "{} lost", stored.event.uid);
        for copy in copies {
            assert_eq!(
                copy.key.as_deref(),
                Some(stored.event.regarding.uid.as_bytes())
            );
            assert_eq!(copy.json(), serde_json::to_value(&stored.event).unwrap());
        }
    }
}

#[tokio::test]
async fn not_leader_is_retried_by_the_client_after_a_metadata_refresh() {
    let broker = Broker::start("events", 1).await;
    let sink = config(&broker, "events").build().unwrap();
    broker.fail_next([BrokerFault::Error(NOT_LEADER_OR_FOLLOWER); 2]);
    let batch = sample_events(1, 5);
    assert_eq!(deliver_with_retries(&sink, &batch).await, 1);
    assert_eq!(decoded(&broker).len(), 5);
    assert_eq!(broker.produce_requests(), 3);
}

#[tokio::test]
async fn request_timed_out_is_retryable_and_nothing_is_lost() {
    let broker = Broker::start("events", 3).await;
    let sink = config(&broker, "events").build().unwrap();
    broker.fail_next([BrokerFault::Error(REQUEST_TIMED_OUT)]);
    let batch = sample_events(1, 30);
    assert!(deliver_with_retries(&sink, &batch).await >= 2);
    assert_all_there_with_same_keys(&broker, &batch);
}

#[tokio::test]
async fn a_lost_answer_resends_with_the_same_key_and_loses_nothing() {
    let broker = Broker::start("events", 2).await;
    let sink = KafkaSinkConfig {
        timeout: Duration::from_millis(800),
        ..config(&broker, "events")
    }
    .build()
    .unwrap();
    broker.fail_next([BrokerFault::LoseAnswer]);
    let batch = sample_events(1, 12);
    deliver_with_retries(&sink, &batch).await;
    assert_all_there_with_same_keys(&broker, &batch);
}

#[tokio::test]
async fn a_broker_down_is_retryable_until_it_is_back() {
    let broker = Broker::start("events", 2).await;
    let sink = KafkaSinkConfig {
        timeout: Duration::from_millis(300),
        ..config(&broker, "events")
    }
    .build()
    .unwrap();
    let first = sample_events(1, 4);
    sink.deliver(Batch::new(&first)).await.unwrap();
    broker.set_down(true);
    let batch = sample_events(10, 8);
    let err = sink.deliver(Batch::new(&batch)).await.unwrap_err();
    assert!(err.retryable, "{err:?}");
    broker.set_down(false);
    deliver_with_retries(&sink, &batch).await;
    assert_all_there_with_same_keys(&broker, &first);
    assert_all_there_with_same_keys(&broker, &batch);
}

#[tokio::test]
async fn a_missing_topic_is_retryable_and_names_the_topic() {
    let broker = Broker::start("events", 1).await;
    let sink = KafkaSinkConfig {
        timeout: Duration::from_millis(300),
        ..config(&broker, "other")
    }
    .build()
    .unwrap();
    let err = sink
        .deliver(Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    assert!(err.retryable);
    assert!(err.message.contains("other"), "{}", err.message);
}

#[test]
fn bad_configs_name_the_field() {
    let check = |yaml: &str, expected: &str| {
        let c: KafkaSinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(c.validate().unwrap_err().to_string(), expected, "{yaml}");
    };
    check(
        "brokers: []\ntopic: t",
        "brokers: at least one broker is needed",
    );
    check(
        "brokers: [kafka]\ntopic: t",
        "brokers[0]: \"kafka\" is not host:port",
    );
    check(
        "brokers: ['k:0']\ntopic: t",
        "brokers[0]: \"k:0\": \"0\" is not a port",
    );
    check(
        "brokers: ['k:9092']\ntopic: t\nformat: kee\ntemplate: x",
        "format: a template is the whole value: leave format out with template",
    );
    check(
        "brokers: ['k:9092']\ntopic: t\nsasl: {mechanism: plain, username: u, password: p}",
        "sasl.password: a password is not accepted in clear in the config: use password_file or password_env",
    );
    check(
        "brokers: ['k:9092']\ntopic: t\nsasl: {mechanism: scram-sha-256, username: u}",
        "sasl.password_file: set exactly one of password_file and password_env",
    );
    check(
        "brokers: ['k:9092']\ntopic: t\ntemplate: '{{ event.reason'",
        "template: syntax error: unexpected end of input, expected end of variable block (template line 1)",
    );
    let unknown =
        serde_norway::from_str::<KafkaSinkConfig>("brokers: ['k:9092']\ntopic: t\nacks: 1");
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `acks`")
    );
}
