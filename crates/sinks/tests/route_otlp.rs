//! The OTLP sink under kev-core's real route runner, against a real OTLP/HTTP receiver
//! (official protobuf definitions) that fails on schedule: down for the first 400 ms
//! (nothing listens on its port), then 503s, one 429 with Retry-After, one answer slower
//! than the timeout, and a partial success rejecting one record whenever it is sent.
//! Every record but the rejected one is accepted, none lost; the rejected one is
//! dead-lettered once with the receiver's message; a record is accepted twice only when
//! it shared a request with the rejected one (the route resends that batch one by one).

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
#[path = "support/pipeline.rs"]
mod pipeline;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::testkit::sink::sample_events;
use kev_core::{Event, MemoryStore, Store};
use kev_sinks::otlp::OtlpSinkConfig;
use tokio_util::sync::CancellationToken;

use otlp_receiver::{OtlpReceiver, Reply, Seen};
use pipeline::{PassThrough, channel_source};

fn key(seen: &Seen, i: usize) -> String {
    seen.records[i].attr("kev.event.key").unwrap()
}

#[tokio::test]
async fn scheduled_failures_lose_nothing_and_dead_letter_exactly_the_rejected_record() {
    let events: Vec<Event> = sample_events(1, 60).into_iter().map(|s| s.event).collect();
    let slow = events[17].idempotency_key().to_string();
    let poison = events[41].idempotency_key().to_string();

    // Nothing listens on the port for the first 400 ms.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sink = OtlpSinkConfig::new(format!("http://{addr}"))
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let (tx, source) = channel_source();
    let pipeline = Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .route(
            Route::new("otel", Arc::new(KeepAll))
                .sink(Arc::new(sink))
                .policy(SinkPolicy {
                    max_events: 10,
                    max_delay: Duration::ZERO,
                    retry_initial: Duration::from_millis(20),
                    retry_max: Duration::from_millis(100),
                }),
        )
        .config(PipelineConfig {
            drain_timeout: Duration::from_secs(20),
            ..PipelineConfig::default()
        });
    for e in &events {
        tx.send(e.clone()).await.unwrap();
    }
    drop(tx);
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));

    tokio::time::sleep(Duration::from_millis(400)).await;
    let receiver = OtlpReceiver::start_on(addr, true).await;
    let started = Instant::now();
    let (mut sent_429, mut slowed) = (false, false);
    let (slow_key, poison_key) = (slow.clone(), poison.clone());
    receiver.behave(move |seen: &Seen| {
        let keys: Vec<String> = (0..seen.records.len()).map(|i| key(seen, i)).collect();
        if started.elapsed() < Duration::from_millis(200) {
            return Reply::status(503);
        }
        if !sent_429 {
            sent_429 = true;
            return Reply {
                status: 429,
                retry_after: Some("1".into()),
                ..Default::default()
            };
        }
        if keys.contains(&slow_key) && !slowed {
            slowed = true;
            return Reply {
                status: 200,
                delay: Some(Duration::from_millis(400)),
                ..Default::default()
            };
        }
        Reply {
            status: 200,
            reject: keys
                .iter()
                .enumerate()
                .filter(|(_, k)| **k == poison_key)
                .map(|(i, _)| i)
                .collect(),
            ..Default::default()
        }
    });
    let report = run.await.unwrap().unwrap();

    // Every record but the poison one accepted; in order of first acceptance.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_seen = Vec::new();
    for r in receiver.accepted() {
        let k = r.attr("kev.event.key").unwrap();
        let n = count.entry(k.clone()).or_default();
        if *n == 0 {
            first_seen.push(k);
        }
        *n += 1;
    }
    let want: Vec<String> = events
        .iter()
        .map(|e| e.idempotency_key().to_string())
        .filter(|k| *k != poison)
        .collect();
    assert_eq!(first_seen, want, "lost or reordered records");
    // Twice only for the batch that held the poison record (events 41..=50).
    let resent: Vec<&String> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    let poison_batch: Vec<String> = events[40..50]
        .iter()
        .map(|e| e.idempotency_key().to_string())
        .filter(|k| *k != poison)
        .collect();
    assert!(count.values().all(|n| *n <= 2), "{count:?}");
    assert!(
        resent.iter().all(|k| poison_batch.contains(k)),
        "duplicated outside the partially rejected batch: {resent:?}"
    );

    let letters = store.dead_letters(Some("otel"), 100).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].event.idempotency_key().to_string(), poison);
    assert!(
        letters[0]
            .error
            .contains("rejected 1 of 1 records: record rejected"),
        "{}",
        letters[0].error
    );
    let route = &report.routes[0];
    assert_eq!((route.cursor, route.dead_lettered), (60, 1));
    assert_eq!(store.cursor("otel").unwrap(), 60);

    // The schedule really happened.
    let seen = receiver.seen();
    assert!(seen.iter().any(|s| s.status == 503), "no 503 period");
    assert_eq!(seen.iter().filter(|s| s.status == 429).count(), 1);
    assert!(
        seen.iter()
            .filter(|s| s
                .records
                .iter()
                .any(|r| r.attr("kev.event.key").as_deref() == Some(slow.as_str())))
            .count()
            >= 2,
        "the slow request was not sent again"
    );
}
