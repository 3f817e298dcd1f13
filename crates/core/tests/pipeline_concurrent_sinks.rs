//! A route delivers each batch to its sinks concurrently: a sink that retries does not
//! hold back its siblings, and the cursor still moves only past events every sink
//! acknowledged (docs/specs/delivery.md).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::testkit::pipeline::{EventsSource, PassThrough};
use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, Event, MemoryStore, Sink, SinkError, Store};
use tokio_util::sync::CancellationToken;

/// Acknowledges every batch and records its seqs.
#[derive(Debug, Default)]
struct Acking {
    seqs: Mutex<Vec<u64>>,
    got_any: AtomicBool,
}

#[async_trait]
impl Sink for Acking {
    fn name(&self) -> &str {
        "acking"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        self.seqs
            .lock()
            .unwrap()
            .extend(batch.events().iter().map(|e| e.seq));
        self.got_any.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Fails retryably until its sibling has the batch, then acknowledges: with sinks
/// called one after another (this one first) it would never succeed.
#[derive(Debug)]
struct WaitsForSibling {
    sibling: Arc<Acking>,
    seqs: Mutex<Vec<u64>>,
}

#[async_trait]
impl Sink for WaitsForSibling {
    fn name(&self) -> &str {
        "waits"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if !self.sibling.got_any.load(Ordering::SeqCst) {
            return Err(SinkError::retryable("503 Service Unavailable"));
        }
        self.seqs
            .lock()
            .unwrap()
            .extend(batch.events().iter().map(|e| e.seq));
        Ok(())
    }
}

/// Acknowledges events up to `through` and refuses later ones, retryably, for ever.
#[derive(Debug)]
struct AcksThrough {
    through: u64,
    seqs: Mutex<Vec<u64>>,
}

#[async_trait]
impl Sink for AcksThrough {
    fn name(&self) -> &str {
        "acks-through"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let ok = batch
            .events()
            .iter()
            .take_while(|e| e.seq <= self.through)
            .count();
        self.seqs
            .lock()
            .unwrap()
            .extend(batch.events()[..ok].iter().map(|e| e.seq));
        if ok == batch.len() {
            Ok(())
        } else {
            Err(SinkError::retryable("503 Service Unavailable").with_delivered(ok))
        }
    }
}

fn events(n: usize) -> Vec<Event> {
    sample_events(1, n).into_iter().map(|s| s.event).collect()
}

fn policy() -> SinkPolicy {
    SinkPolicy {
        max_events: 5,
        retry_initial: Duration::from_millis(5),
        retry_max: Duration::from_millis(20),
        ..SinkPolicy::default()
    }
}

async fn run(store: &Arc<MemoryStore>, route: Route, n: usize, drain: Duration) {
    let config = PipelineConfig {
        drain_timeout: drain,
        ..PipelineConfig::default()
    };
    Pipeline::new(
        Box::new(EventsSource::new(events(n))),
        Arc::new(PassThrough),
        Arc::clone(store) as Arc<dyn Store>,
    )
    .config(config)
    .route(route)
    .run(CancellationToken::new())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_retrying_sink_does_not_hold_back_its_sibling() {
    let store = Arc::new(MemoryStore::new());
    let acking = Arc::new(Acking::default());
    let waits = Arc::new(WaitsForSibling {
        sibling: Arc::clone(&acking),
        seqs: Mutex::new(Vec::new()),
    });
    // The retrying sink comes first: delivered one after another, the batch would
    // never reach its sibling and the route would never finish.
    let route = Route::new("r", Arc::new(KeepAll))
        .sink(waits.clone())
        .sink(acking.clone())
        .policy(policy());
    tokio::time::timeout(
        Duration::from_secs(20),
        run(&store, route, 12, Duration::from_secs(30)),
    )
    .await
    .expect("the sinks of a route are delivered concurrently");
    let all: Vec<u64> = (1..=12).collect();
    assert_eq!(*acking.seqs.lock().unwrap(), all);
    assert_eq!(*waits.seqs.lock().unwrap(), all);
    assert_eq!(store.cursor("r").unwrap(), 12);
}

#[tokio::test]
async fn the_cursor_stops_at_what_every_sink_acked_and_a_restart_delivers_the_rest() {
    let store = Arc::new(MemoryStore::new());
    let acking = Arc::new(Acking::default());
    let stuck = Arc::new(AcksThrough {
        through: 7,
        seqs: Mutex::new(Vec::new()),
    });
    let route = Route::new("r", Arc::new(KeepAll))
        .sink(acking.clone())
        .sink(stuck.clone())
        .policy(policy());
    // The stuck sink never acks past 7: the drain timeout stops the route.
    run(&store, route, 10, Duration::from_millis(300)).await;
    assert_eq!(
        *acking.seqs.lock().unwrap(),
        (1..=10).collect::<Vec<_>>(),
        "the healthy sink got every batch"
    );
    assert_eq!(*stuck.seqs.lock().unwrap(), (1..=7).collect::<Vec<_>>());
    // Batches of 5: 1..=5 are acked by both; 6..=10 only by one of them.
    assert_eq!(store.cursor("r").unwrap(), 5);

    // After a restart with healthy sinks only what was not acked by both comes again.
    let again = Arc::new(Acking::default());
    let healed = Arc::new(AcksThrough {
        through: u64::MAX,
        seqs: Mutex::new(Vec::new()),
    });
    let route = Route::new("r", Arc::new(KeepAll))
        .sink(again.clone())
        .sink(healed.clone())
        .policy(policy());
    run(&store, route, 10, Duration::from_secs(30)).await;
    assert_eq!(*again.seqs.lock().unwrap(), (6..=10).collect::<Vec<_>>());
    // 6 and 7 were acked by both sinks, but inside a batch the route had not finished:
    // at least once, they come again.
    assert_eq!(*healed.seqs.lock().unwrap(), (6..=10).collect::<Vec<_>>());
    assert_eq!(store.cursor("r").unwrap(), 10);
}
