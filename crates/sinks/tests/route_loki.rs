//! The Loki sink under kev-core's real route runner, against a Loki push endpoint that
//! follows Loki's API and fails on schedule: 503s, one 429 with Retry-After, one answer
//! slower than the timeout, and an entry too old for Loki, refused with a 400. Every
//! other event is stored exactly once (Loki drops an entry pushed again); the old one is
//! dead-lettered once with Loki's message.

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/loki_receiver.rs"]
mod loki_receiver;
#[path = "support/pipeline.rs"]
mod pipeline;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::testkit::sink::sample_events;
use kev_core::{Event, MemoryStore, Store};
use kev_sinks::loki::LokiSinkConfig;
use tokio_util::sync::CancellationToken;

use loki_receiver::{Fault, LokiReceiver};
use pipeline::{PassThrough, channel_source};

#[tokio::test]
async fn scheduled_failures_store_every_entry_once_and_dead_letter_the_too_old_one() {
    let mut events: Vec<Event> = sample_events(1, 50).into_iter().map(|s| s.event).collect();
    let old = 29;
    events[old].last_seen = Some(jiff::Timestamp::from_second(946_684_800).unwrap());
    events[old].first_seen = None;
    let receiver = LokiReceiver::start().await;
    receiver.reject_older_than(i128::from(1_500_000_000) * 1_000_000_000);
    receiver.behave(|n| match n {
        0..=2 => Some(Fault {
            status: 503,
            ..Default::default()
        }),
        3 => Some(Fault {
            status: 429,
            retry_after: Some("1".into()),
            delay: None,
        }),
        5 => Some(Fault {
            status: 200,
            retry_after: None,
            delay: Some(Duration::from_millis(400)),
        }),
        _ => None,
    });
    let sink = LokiSinkConfig::new(receiver.url())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let (tx, source) = channel_source();
    let pipeline = Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .route(
            Route::new("loki", Arc::new(KeepAll))
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
    let report = pipeline.run(CancellationToken::new()).await.unwrap();

    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for entries in receiver.streams()[""].values() {
        for e in entries {
            *stored.entry(e.metadata["kev_key"].clone()).or_default() += 1;
        }
    }
    let want: BTreeMap<String, usize> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != old)
        .map(|(_, e)| (e.idempotency_key().to_string(), 1))
        .collect();
    assert_eq!(stored, want, "every entry once, none lost");

    let letters = store.dead_letters(Some("loki"), 100).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].event.uid, events[old].uid);
    assert!(
        letters[0].error.contains("HTTP 400") && letters[0].error.contains("has timestamp too old"),
        "{}",
        letters[0].error
    );
    let route = &report.routes[0];
    assert_eq!((route.cursor, route.dead_lettered), (50, 1));

    let statuses: Vec<u16> = receiver.requests().iter().map(|(s, _)| *s).collect();
    assert_eq!(&statuses[..4], [503, 503, 503, 429]);
    assert_eq!(statuses[5], 200, "the late answer");
    assert!(statuses.contains(&400));
}
