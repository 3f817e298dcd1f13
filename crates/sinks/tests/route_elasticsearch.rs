//! The Elasticsearch sink under kev-core's real route runner, against a bulk endpoint
//! that follows the bulk API and fails on schedule: whole-request 503s, a 429 with
//! Retry-After, an answer slower than the timeout, items rejected once with 429, and one
//! document with a mapping conflict. Every other event ends as exactly one document
//! (retries write the same `_id`), none lost; the conflicting one is dead-lettered once
//! with the item's error.

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/es_receiver.rs"]
mod es_receiver;
#[path = "support/pipeline.rs"]
mod pipeline;

use std::sync::Arc;
use std::time::Duration;

use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::testkit::sink::sample_events;
use kev_core::{Event, MemoryStore, Store};
use kev_sinks::elasticsearch::ElasticsearchSinkConfig;
use tokio_util::sync::CancellationToken;

use es_receiver::{EsReceiver, Fault};
use pipeline::{PassThrough, channel_source};

#[tokio::test]
async fn scheduled_failures_end_in_one_document_per_event_or_one_dead_letter() {
    let mut events: Vec<Event> = sample_events(1, 50).into_iter().map(|s| s.event).collect();
    for e in &mut events {
        e.last_seen = Some(jiff::Timestamp::from_second(1_700_000_000).unwrap());
    }
    // Labels as a map everywhere, except one event whose `labels.tier` meets a mapping
    // that says `long`.
    let poison = 23;
    events[poison].labels.insert("tier".into(), "gold".into());
    let receiver = EsReceiver::start().await;
    receiver.map("kev-events-2023.11.14", "labels.tier", "long");
    for i in [7, 8, 35] {
        receiver.reject_once(events[i].idempotency_key().as_str());
    }
    receiver.behave(|n| match n {
        0 | 1 => Some(Fault {
            status: 503,
            ..Default::default()
        }),
        2 => Some(Fault {
            status: 429,
            retry_after: Some("1".into()),
            delay: None,
        }),
        4 => Some(Fault {
            status: 200,
            retry_after: None,
            delay: Some(Duration::from_millis(400)),
        }),
        _ => None,
    });
    let sink = ElasticsearchSinkConfig::new(receiver.url())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let (tx, source) = channel_source();
    let pipeline = Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .route(
            Route::new("es", Arc::new(KeepAll))
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

    let indices = receiver.indices();
    let docs = &indices["kev-events-2023.11.14"];
    let mut ids: Vec<&String> = docs.keys().collect();
    ids.sort();
    let mut want: Vec<String> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != poison)
        .map(|(_, e)| e.idempotency_key().to_string())
        .collect();
    want.sort();
    assert_eq!(
        ids,
        want.iter().collect::<Vec<_>>(),
        "one document per event, none lost"
    );

    let letters = store.dead_letters(Some("es"), 100).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].event.uid, events[poison].uid);
    assert!(
        letters[0].error.contains("document_parsing_exception")
            && letters[0].error.contains("labels.tier"),
        "{}",
        letters[0].error
    );
    assert_eq!(
        (report.routes[0].cursor, report.routes[0].dead_lettered),
        (50, 1)
    );
    let requests = receiver.requests();
    assert!(
        requests.iter().flatten().filter(|s| **s == 429).count() >= 3,
        "item 429s happened"
    );
}
