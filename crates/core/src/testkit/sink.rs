//! The sink conformance suite: [`check_sink`] runs the delivery rule of
//! `docs/specs/delivery.md` against any [`Sink`] through a [`SinkHarness`].
//!
//! Every sink crate runs it unchanged, each with a harness that builds the sink and
//! reads back what the receiver (a writer, a file, an HTTP server…) really got:
//!
//! - order is kept, within and across batches;
//! - `deliver` returns `Ok` only once the whole batch is at the receiver;
//! - a failure is classified: retryable or permanent, as the harness's fault says;
//! - under the real route runner, the cursor stays put while the sink fails for a
//!   retryable reason, moves once the sink recovers, and permanent failures end in
//!   exactly one dead letter per event.
//!
//! ```no_run
//! # use kev_core::testkit::sink::{check_sink, SinkHarness};
//! # async fn run(harness: &mut impl SinkHarness) {
//! check_sink(harness).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::event::{Event, EventType, ObjectRef};
use crate::filter::KeepAll;
use crate::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use crate::sink::{Batch, Sink};
use crate::store::{MemoryStore, Store, StoredEvent};
use crate::testkit::pipeline::{EventsSource, PassThrough};

/// A way for the receiver to refuse deliveries, to check that the sink classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The receiver is unavailable for now (HTTP 503, a write that fails with an IO
    /// error that may clear): the sink must report a retryable error.
    Retryable,
    /// The receiver refuses for good (HTTP 400, a closed pipe): the sink must report
    /// a permanent error.
    Permanent,
}

/// What the suite needs from a sink crate: the sink, its receiver, and faults.
#[async_trait]
pub trait SinkHarness: Send {
    /// A new sink whose receiver is empty and healthy. Called once per check.
    async fn sink(&mut self) -> Arc<dyn Sink>;

    /// The events the receiver accepted so far (for the last sink built), in the order
    /// it accepted them, decoded from what it really got.
    async fn received(&mut self) -> Vec<Event>;

    /// Makes the receiver refuse every delivery with `fault` until [`SinkHarness::heal`].
    /// Returns false when this harness cannot produce that fault; the suite then skips
    /// the checks that need it.
    async fn fail(&mut self, fault: Fault) -> bool;

    /// Ends the fault set by [`SinkHarness::fail`].
    async fn heal(&mut self);
}

/// Runs every check of the suite; panics with the name of the check that failed.
pub async fn check_sink(harness: &mut impl SinkHarness) {
    check_order_and_ack(harness).await;
    check_empty_batch(harness).await;
    check_retryable_fault(harness).await;
    check_permanent_fault(harness).await;
    check_route_holds_cursor_until_ack(harness).await;
    check_route_dead_letters_permanent_failures(harness).await;
}

/// `n` distinct events numbered from `first`, with the awkward text that encoders get
/// wrong: quotes, backslashes, newlines, tabs, non-ASCII, an empty reason.
///
/// ```
/// let events = kev_core::testkit::sink::sample_events(1, 3);
/// assert_eq!(events.len(), 3);
/// assert_eq!(events[0].seq, 1);
/// assert_ne!(events[0].event.idempotency_key(), events[1].event.idempotency_key());
/// ```
pub fn sample_events(first: u64, n: usize) -> Vec<StoredEvent> {
    let base = Timestamp::from_second(1_780_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
    (first..first + n as u64)
        .map(|i| {
            let mut labels = BTreeMap::new();
            if i % 3 == 0 {
                labels.insert("app".to_owned(), format!("web-{i}"));
            }
            let at = base
                .checked_add(jiff::SignedDuration::from_secs(i as i64))
                .unwrap_or(base);
            let event = Event {
                cluster: "test".into(),
                namespace: format!("ns-{}", i % 4),
                name: format!("pod-{i}.17a2b3c4"),
                uid: format!("uid-{i:06}"),
                resource_version: (1000 + i).to_string(),
                r#type: if i % 2 == 0 {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: if i % 5 == 0 {
                    String::new()
                } else {
                    "BackOff".into()
                },
                message: format!("event {i}: \"quoted\" back\\slash\nsecond line\ttab — ünïcødé ✓"),
                regarding: ObjectRef {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    namespace: format!("ns-{}", i % 4),
                    name: format!("pod-{i}"),
                    uid: format!("pod-uid-{i}"),
                    field_path: String::new(),
                },
                reporting_controller: "kubelet".into(),
                first_seen: Some(at),
                last_seen: Some(at),
                count: (i % 7 + 1) as u32,
                labels,
                ..Default::default()
            };
            // As the ingest stores it: with the chain its names show (`pod-1` → StatefulSet).
            let event = Event {
                owners: crate::owners::infer_chain(&event.regarding),
                ..event
            };
            StoredEvent { seq: i, event }
        })
        .collect()
}

fn events_of(batch: &[StoredEvent]) -> Vec<Event> {
    batch.iter().map(|s| s.event.clone()).collect()
}

/// Batches of 1, 7 and 64 events: after each `Ok`, the receiver has every event
/// delivered so far, unchanged and in order.
pub async fn check_order_and_ack(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    assert!(
        !sink.name().is_empty(),
        "check_order_and_ack: the sink has an empty name"
    );
    let mut expected = Vec::new();
    let mut next = 1;
    for size in [1, 7, 64] {
        let batch = sample_events(next, size);
        next += size as u64;
        if let Err(e) = sink.deliver(Batch::new(&batch)).await {
            panic!(
                "check_order_and_ack: delivering a batch of {size} to a healthy receiver failed: {e}"
            );
        }
        expected.extend(events_of(&batch));
        let got = harness.received().await;
        assert_same_events("check_order_and_ack", &got, &expected);
    }
}

/// An empty batch is acknowledged and sends nothing.
pub async fn check_empty_batch(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    if let Err(e) = sink.deliver(Batch::new(&[])).await {
        panic!("check_empty_batch: an empty batch failed: {e}");
    }
    let got = harness.received().await;
    assert!(
        got.is_empty(),
        "check_empty_batch: an empty batch made the receiver get {} events",
        got.len()
    );
}

/// A retryable fault is reported as retryable, nothing beyond the error's `delivered`
/// prefix reaches the receiver, and after healing the rest is delivered once.
pub async fn check_retryable_fault(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    if !harness.fail(Fault::Retryable).await {
        return;
    }
    let batch = sample_events(1, 5);
    let error = match sink.deliver(Batch::new(&batch)).await {
        Ok(()) => panic!("check_retryable_fault: the receiver refused, but deliver returned Ok"),
        Err(e) => e,
    };
    assert!(
        error.retryable,
        "check_retryable_fault: a retryable fault was reported as permanent: {error}"
    );
    let done = error.delivered.min(batch.len());
    let got = harness.received().await;
    assert_same_events(
        "check_retryable_fault (while failing)",
        &got,
        &events_of(&batch[..done]),
    );
    harness.heal().await;
    if let Err(e) = sink.deliver(Batch::new(&batch[done..])).await {
        panic!("check_retryable_fault: delivery after healing failed: {e}");
    }
    let got = harness.received().await;
    assert_same_events("check_retryable_fault (healed)", &got, &events_of(&batch));
}

/// A permanent fault is reported as permanent and not acknowledged.
pub async fn check_permanent_fault(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    if !harness.fail(Fault::Permanent).await {
        return;
    }
    let batch = sample_events(1, 3);
    let error = match sink.deliver(Batch::new(&batch)).await {
        Ok(()) => panic!("check_permanent_fault: the receiver refused, but deliver returned Ok"),
        Err(e) => e,
    };
    assert!(
        !error.retryable,
        "check_permanent_fault: a permanent fault was reported as retryable: {error}"
    );
    let done = error.delivered.min(batch.len());
    let got = harness.received().await;
    assert_same_events("check_permanent_fault", &got, &events_of(&batch[..done]));
    harness.heal().await;
}

const ROUTE: &str = "conformance";

fn route_policy() -> SinkPolicy {
    SinkPolicy {
        max_events: 8,
        max_delay: Duration::ZERO,
        retry_initial: Duration::from_millis(10),
        retry_max: Duration::from_millis(40),
    }
}

async fn run_route(
    store: &Arc<MemoryStore>,
    sink: Arc<dyn Sink>,
    events: &[StoredEvent],
    drain: Duration,
) -> crate::pipeline::RouteReport {
    let store_dyn: Arc<dyn Store> = store.clone();
    let pipeline = Pipeline::new(
        Box::new(EventsSource::new(events_of(events))),
        Arc::new(PassThrough),
        store_dyn,
    )
    .route(
        Route::new(ROUTE, Arc::new(KeepAll))
            .sink(sink)
            .policy(route_policy()),
    )
    .config(PipelineConfig {
        drain_timeout: drain,
        batch_max_delay: Duration::from_millis(1),
        ..PipelineConfig::default()
    });
    let report = match pipeline.run(CancellationToken::new()).await {
        Ok(r) => r,
        Err(e) => panic!("route run failed: {e}"),
    };
    match report.routes.into_iter().find(|r| r.route == ROUTE) {
        Some(r) => r,
        None => panic!("the pipeline report has no route {ROUTE:?}"),
    }
}

/// Under the route runner: while the sink fails with a retryable fault the cursor
/// stays at 0 (the drain timeout ends the run without a commit); once healed, a second
/// run delivers every event once, in order, and commits the cursor to the last one.
pub async fn check_route_holds_cursor_until_ack(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    let events = sample_events(1, 20);
    let store = Arc::new(MemoryStore::new());
    if harness.fail(Fault::Retryable).await {
        let report = run_route(
            &store,
            Arc::clone(&sink),
            &events,
            Duration::from_millis(300),
        )
        .await;
        let cursor = store.cursor(ROUTE).unwrap_or(u64::MAX);
        assert_eq!(
            (report.cursor, cursor),
            (0, 0),
            "check_route_holds_cursor_until_ack: the cursor moved while the sink failed"
        );
        let got = harness.received().await;
        assert!(
            got.len() < events.len(),
            "check_route_holds_cursor_until_ack: all events arrived while the receiver refused them"
        );
        harness.heal().await;
    }
    let report = run_route(&store, Arc::clone(&sink), &events, Duration::from_secs(10)).await;
    let last = store.last_seq().unwrap_or(0);
    assert_eq!(
        last,
        events.len() as u64,
        "check_route_holds_cursor_until_ack: the store did not keep every event"
    );
    assert_eq!(
        (report.cursor, store.cursor(ROUTE).unwrap_or(0)),
        (last, last),
        "check_route_holds_cursor_until_ack: the cursor is not at the last event after healing"
    );
    let got = harness.received().await;
    assert_same_events(
        "check_route_holds_cursor_until_ack",
        &dedup_keep_first(got),
        &events_of(&events),
    );
}

/// Under the route runner: a sink that refuses every event for good ends with one
/// dead letter per event, in order, and the cursor past all of them.
pub async fn check_route_dead_letters_permanent_failures(harness: &mut impl SinkHarness) {
    let sink = harness.sink().await;
    if !harness.fail(Fault::Permanent).await {
        return;
    }
    let events = sample_events(1, 10);
    let store = Arc::new(MemoryStore::new());
    let report = run_route(&store, sink, &events, Duration::from_secs(10)).await;
    harness.heal().await;
    let letters = store.dead_letters(Some(ROUTE), 1000).unwrap_or_default();
    let seqs: Vec<u64> = letters.iter().map(|l| l.seq).collect();
    let want: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(
        seqs, want,
        "check_route_dead_letters_permanent_failures: dead letters are not one per event, in order"
    );
    assert_eq!(
        (report.dead_lettered, report.cursor),
        (events.len() as u64, events.len() as u64),
        "check_route_dead_letters_permanent_failures: report"
    );
    let got = harness.received().await;
    assert!(
        got.is_empty(),
        "check_route_dead_letters_permanent_failures: the refusing receiver got {} events",
        got.len()
    );
}

/// Repeats of at-least-once delivery dropped, as a receiver does by idempotency key.
fn dedup_keep_first(events: Vec<Event>) -> Vec<Event> {
    let mut seen = std::collections::HashSet::new();
    events
        .into_iter()
        .filter(|e| seen.insert(e.idempotency_key()))
        .collect()
}

fn assert_same_events(check: &str, got: &[Event], want: &[Event]) {
    let keys = |v: &[Event]| {
        v.iter()
            .map(|e| e.idempotency_key().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(got),
        keys(want),
        "{check}: the receiver's events (by idempotency key) differ from what was delivered"
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{check}: an event changed on its way to the receiver");
    }
}
