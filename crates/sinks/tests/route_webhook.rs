//! The webhook sink under kev-core's real route runner, against a real HTTP server on
//! 127.0.0.1 that fails on schedule: a period of 503s, a 429 with Retry-After, an
//! answer slower than the timeout, and a permanent 400 for one event. Every event is
//! accepted exactly once (in time) or dead-lettered once, in order; retries carry the
//! same Idempotency-Key. And route isolation: a webhook that is down does not hold back
//! a file route.
//!
//! Real time, bounded: the 503 period is 300 ms, the Retry-After 1 s, the timeout 150 ms.

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/pipeline.rs"]
mod pipeline;
#[path = "support/receiver.rs"]
mod receiver;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::testkit::sink::sample_events;
use kev_core::{Event, MemoryStore, Store};
use kev_sinks::file::FileSinkConfig;
use kev_sinks::webhook::WebhookSinkConfig;
use tokio_util::sync::CancellationToken;

use pipeline::{PassThrough, channel_source, wait_for_cursor};
use receiver::{Receiver, Reply, Seen};

fn policy() -> SinkPolicy {
    SinkPolicy {
        max_events: 10,
        max_delay: Duration::ZERO,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
    }
}

/// 503 for the first 300 ms, then one 429 (Retry-After: 1), then one answer 400 ms
/// late for the request carrying `slow`, and 400 for every request carrying `poison`.
fn failing_schedule(receiver: &Receiver, slow: String, poison: String) {
    let mut started: Option<Instant> = None;
    let mut sent_429 = false;
    let mut slowed = false;
    receiver.behave(move |seen: &Seen| {
        let start = *started.get_or_insert_with(Instant::now);
        let has = |uid: &str| seen.events.iter().any(|e| e.uid == uid);
        if start.elapsed() < Duration::from_millis(300) {
            return Reply::status(503);
        }
        if !sent_429 {
            sent_429 = true;
            return Reply {
                status: 429,
                retry_after: Some("1".into()),
                delay: None,
                body: None,
            };
        }
        if has(&slow) && !slowed {
            slowed = true;
            return Reply {
                status: 200,
                retry_after: None,
                delay: Some(Duration::from_millis(400)),
                body: None,
            };
        }
        if has(&poison) {
            return Reply::status(400);
        }
        Reply::ok()
    });
}

async fn scheduled_failures_end_in_exactly_once_or_one_dead_letter(batch: bool) {
    let receiver = Receiver::start().await;
    let events: Vec<Event> = sample_events(1, 50).into_iter().map(|s| s.event).collect();
    let slow = events[17].uid.clone();
    let poison = events[33].uid.clone();
    failing_schedule(&receiver, slow.clone(), poison.clone());

    let sink = WebhookSinkConfig::new(receiver.url("/hook"))
        .batch(batch)
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let (tx, source) = channel_source();
    let pipeline = Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .route(
            Route::new("hook", Arc::new(KeepAll))
                .sink(Arc::new(sink))
                .policy(policy()),
        )
        .config(PipelineConfig {
            drain_timeout: Duration::from_secs(20),
            ..PipelineConfig::default()
        });
    for e in &events {
        tx.send(e.clone()).await.unwrap();
    }
    drop(tx);
    let report = pipeline.run(CancellationToken::new()).await.unwrap();

    // Accepted in time: every event but the poison one, once each, in order.
    let accepted: Vec<String> = receiver
        .accepted_events()
        .iter()
        .map(|e| e.uid.clone())
        .collect();
    let want: Vec<String> = events
        .iter()
        .map(|e| e.uid.clone())
        .filter(|u| *u != poison)
        .collect();
    assert_eq!(accepted, want);

    // The poison event: one dead letter, naming the 400.
    let letters = store.dead_letters(Some("hook"), 100).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].event.uid, poison);
    assert_eq!(letters[0].seq, 34);
    assert!(letters[0].error.contains("400"), "{}", letters[0].error);
    let route = &report.routes[0];
    assert_eq!((route.cursor, route.dead_lettered), (50, 1));
    assert_eq!(store.cursor("hook").unwrap(), 50);

    // The schedule really happened.
    let seen = receiver.seen();
    let count = |status: u16| seen.iter().filter(|s| s.status == status).count();
    assert!(count(503) >= 1, "no 503 period");
    assert_eq!(count(429), 1);
    assert!(count(400) >= 1);
    assert!(
        seen.iter()
            .filter(|s| s.events.iter().any(|e| e.uid == slow))
            .count()
            >= 2,
        "the slow request was not sent again"
    );

    // Idempotency-Key: per event, or first..last of the batch; the same for every
    // attempt with the same events.
    let mut key_of_events: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for s in &seen {
        let key = s.idempotency_key.clone().expect("Idempotency-Key header");
        let uids: Vec<String> = s.events.iter().map(|e| e.uid.clone()).collect();
        let want = match s.events.as_slice() {
            [one] => one.idempotency_key().to_string(),
            [first, .., last] => format!("{}..{}", first.idempotency_key(), last.idempotency_key()),
            [] => panic!("empty request"),
        };
        assert_eq!(key, want);
        assert!(
            batch || !s.array,
            "one event per request was sent as an array"
        );
        let previous = key_of_events.entry(uids).or_insert_with(|| key.clone());
        assert_eq!(*previous, key, "a retry changed the Idempotency-Key");
    }
}

#[tokio::test]
async fn one_event_per_request_survives_scheduled_failures_exactly_once() {
    scheduled_failures_end_in_exactly_once_or_one_dead_letter(false).await;
}

#[tokio::test]
async fn batch_arrays_survive_scheduled_failures_exactly_once() {
    scheduled_failures_end_in_exactly_once_or_one_dead_letter(true).await;
}

#[tokio::test]
async fn a_webhook_that_is_down_does_not_hold_back_a_file_route() {
    let receiver = Receiver::start().await;
    receiver.behave(|_| Reply::status(503));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let store = Arc::new(MemoryStore::new());
    let (tx, source) = channel_source();
    let pipeline = Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .route(
            Route::new("hook", Arc::new(KeepAll))
                .sink(Arc::new(
                    WebhookSinkConfig::new(receiver.url("/"))
                        .batch(true)
                        .build()
                        .unwrap(),
                ))
                .policy(policy()),
        )
        .route(
            Route::new("file", Arc::new(KeepAll))
                .sink(Arc::new(FileSinkConfig::new(&path).build().unwrap()))
                .policy(policy()),
        )
        .config(PipelineConfig {
            drain_timeout: Duration::from_secs(10),
            ..PipelineConfig::default()
        });
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));

    let events: Vec<Event> = sample_events(1, 200).into_iter().map(|s| s.event).collect();
    for e in &events[..100] {
        tx.send(e.clone()).await.unwrap();
    }
    // The file route delivers everything while the webhook refuses all of it.
    wait_for_cursor(&store, "file", 100, Duration::from_secs(10)).await;
    assert_eq!(store.cursor("hook").unwrap(), 0);
    assert!(receiver.accepted_events().is_empty());
    for e in &events[100..] {
        tx.send(e.clone()).await.unwrap();
    }
    wait_for_cursor(&store, "file", 200, Duration::from_secs(10)).await;
    assert_eq!(store.cursor("hook").unwrap(), 0);

    // The webhook comes back: its backlog, kept in the store, drains in order.
    receiver.behave(|_| Reply::ok());
    wait_for_cursor(&store, "hook", 200, Duration::from_secs(10)).await;
    drop(tx);
    let report = run.await.unwrap().unwrap();
    assert_eq!(
        report.routes.iter().map(|r| r.cursor).collect::<Vec<_>>(),
        [200, 200]
    );
    let uids = |v: &[Event]| v.iter().map(|e| e.uid.clone()).collect::<Vec<_>>();
    assert_eq!(uids(&receiver.accepted_events()), uids(&events));
    let written: Vec<Event> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written, events);
}
