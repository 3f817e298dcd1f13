//! The pipeline driver end to end on the memory store: batching with checkpoints,
//! cursors committed only after acknowledgement, retries, dead letters, isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use kev_core::testkit::pipeline::PassThrough;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::{
    Batch, Checkpoint, Event, EventSource, MemoryStore, RawEvent, Sink, SinkError, SourceError,
    SourceItem, Store,
};
use tokio_util::sync::CancellationToken;

/// Yields `n` events, then ends; resumes after the number of items in its checkpoint.
#[derive(Debug)]
struct CountingSource {
    n: u64,
    next: u64,
}

#[async_trait]
impl EventSource for CountingSource {
    fn id(&self) -> &str {
        "counting"
    }
    fn kind(&self) -> &'static str {
        "replay"
    }
    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        self.next = checkpoint.map_or(0, |c| c.position.parse().unwrap());
        Ok(())
    }
    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        if self.next == self.n {
            return None;
        }
        self.next += 1;
        let i = self.next;
        let event = Event {
            uid: format!("uid-{i}"),
            resource_version: i.to_string(),
            namespace: format!("ns-{}", i % 3),
            reason: "BackOff".into(),
            ..Default::default()
        };
        Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(Box::new(event)),
            location: format!("item {i}"),
            checkpoint: Some(Checkpoint {
                source: "counting".into(),
                position: i.to_string(),
            }),
        }))
    }
}

/// A sink that follows a script of failures, then records what it acknowledged.
#[derive(Debug, Default)]
struct ScriptedSink {
    name: String,
    script: Mutex<VecDeque<SinkError>>,
    refuse_uid: Option<String>,
    acked: Mutex<Vec<u64>>,
    calls: Mutex<u64>,
}

impl ScriptedSink {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }
    fn acked(&self) -> Vec<u64> {
        self.acked.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sink for ScriptedSink {
    fn name(&self) -> &str {
        &self.name
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        *self.calls.lock().unwrap() += 1;
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        if let Some(bad) = &self.refuse_uid
            && batch.iter().any(|e| &e.event.uid == bad)
        {
            return Err(SinkError::permanent("400 Bad Request"));
        }
        self.acked
            .lock()
            .unwrap()
            .extend(batch.iter().map(|e| e.seq));
        Ok(())
    }
}

fn config() -> PipelineConfig {
    PipelineConfig {
        batch_max_events: 64,
        ..PipelineConfig::default()
    }
}

#[tokio::test]
async fn stores_every_event_once_and_checkpoints_the_last_batch() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink::new("all"));
    let report = Pipeline::new(
        Box::new(CountingSource { n: 1000, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(config())
    .route(Route::new("all", Arc::new(KeepAll)).sink(sink.clone()))
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(
        (report.received, report.stored, report.duplicates),
        (1000, 1000, 0)
    );
    assert_eq!(
        store.checkpoint("counting").unwrap().unwrap().position,
        "1000"
    );
    assert_eq!(sink.acked(), (1..=1000).collect::<Vec<_>>());
    assert_eq!(store.cursor("all").unwrap(), 1000);

    // A second run resumes from the checkpoint: nothing new, nothing twice.
    let report = Pipeline::new(
        Box::new(CountingSource { n: 1000, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .route(Route::new("all", Arc::new(KeepAll)).sink(sink.clone()))
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!((report.received, report.stored), (0, 0));
    assert_eq!(sink.acked().len(), 1000);
}

#[tokio::test]
async fn replaying_the_same_events_again_stores_none_twice() {
    let store = Arc::new(MemoryStore::new());
    for _ in 0..2 {
        // A fresh source id each time has no checkpoint: dedup must catch the repeats.
        Pipeline::new(
            Box::new(CountingSource { n: 300, next: 0 }),
            Arc::new(PassThrough),
            store.clone(),
        )
        .run(CancellationToken::new())
        .await
        .unwrap();
        store
            .append(
                &[],
                Some(&Checkpoint {
                    source: "counting".into(),
                    position: "0".into(),
                }),
            )
            .unwrap();
    }
    assert_eq!(store.stats().unwrap().events, 300);
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_are_retried_until_acknowledged_in_order() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink::new("hook"));
    sink.script.lock().unwrap().extend([
        SinkError::retryable("503"),
        SinkError::retryable("429").with_retry_after(Duration::from_secs(5)),
        SinkError::retryable("connect refused"),
    ]);
    let report = Pipeline::new(
        Box::new(CountingSource { n: 250, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(config())
    .route(Route::new("hook", Arc::new(KeepAll)).sink(sink.clone()))
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(sink.acked(), (1..=250).collect::<Vec<_>>());
    assert_eq!(report.routes[0].delivered, 250);
    assert_eq!(report.routes[0].dead_lettered, 0);
}

#[tokio::test]
async fn a_permanent_failure_dead_letters_only_the_refused_event() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink {
        refuse_uid: Some("uid-42".into()),
        ..ScriptedSink::new("hook")
    });
    let report = Pipeline::new(
        Box::new(CountingSource { n: 100, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .route(Route::new("hook", Arc::new(KeepAll)).sink(sink.clone()))
    .run(CancellationToken::new())
    .await
    .unwrap();
    let mut expected: Vec<u64> = (1..=100).collect();
    expected.retain(|s| *s != 42);
    assert_eq!(sink.acked(), expected);
    let dead = store.dead_letters(Some("hook"), 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].seq, dead[0].error.as_str()),
        (42, "400 Bad Request")
    );
    assert_eq!(report.routes[0].dead_lettered, 1);
    assert_eq!(report.routes[0].delivered, 99);
    assert_eq!(store.cursor("hook").unwrap(), 100);
}

#[tokio::test(start_paused = true)]
async fn a_dead_sink_does_not_slow_another_route_and_keeps_its_cursor() {
    let store = Arc::new(MemoryStore::new());
    let dead = Arc::new(ScriptedSink::new("dead"));
    dead.script
        .lock()
        .unwrap()
        .extend((0..10_000).map(|_| SinkError::retryable("connection refused")));
    let live = Arc::new(ScriptedSink::new("live"));
    let report = Pipeline::new(
        Box::new(CountingSource { n: 500, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(PipelineConfig {
        drain_timeout: Duration::from_secs(60),
        ..config()
    })
    .route(Route::new("dead", Arc::new(KeepAll)).sink(dead.clone()))
    .route(Route::new("live", Arc::new(KeepAll)).sink(live.clone()))
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(live.acked().len(), 500);
    assert!(dead.acked().is_empty());
    assert_eq!(
        store.cursor("dead").unwrap(),
        0,
        "nothing acknowledged, nothing committed"
    );
    assert_eq!(store.cursor("live").unwrap(), 500);
    let dead_report = report.routes.iter().find(|r| r.route == "dead").unwrap();
    assert_eq!(dead_report.delivered, 0);
}

#[tokio::test]
async fn cancelling_stores_the_batch_in_hand_and_drains_routes() {
    /// Never ends by itself: yields 10 events, then waits forever.
    #[derive(Debug)]
    struct Endless(CountingSource);
    #[async_trait]
    impl EventSource for Endless {
        fn id(&self) -> &str {
            "counting"
        }
        fn kind(&self) -> &'static str {
            "replay"
        }
        async fn start(&mut self, cp: Option<Checkpoint>) -> Result<(), SourceError> {
            self.0.start(cp).await
        }
        async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
            match self.0.next().await {
                Some(item) => Some(item),
                None => std::future::pending().await,
            }
        }
    }
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink::new("all"));
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(
        Pipeline::new(
            Box::new(Endless(CountingSource { n: 10, next: 0 })),
            Arc::new(PassThrough),
            store.clone(),
        )
        .config(PipelineConfig {
            batch_max_delay: Duration::from_secs(3600),
            ..config()
        })
        .route(Route::new("all", Arc::new(KeepAll)).sink(sink.clone()))
        .run(shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        store.stats().unwrap().events,
        0,
        "the partial batch waits for its delay"
    );
    shutdown.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.stored, 10);
    assert_eq!(sink.acked().len(), 10);
    assert_eq!(
        store.checkpoint("counting").unwrap().unwrap().position,
        "10"
    );
}

#[tokio::test(start_paused = true)]
async fn a_route_batches_up_to_its_max_events() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink::new("all"));
    Pipeline::new(
        Box::new(CountingSource { n: 1000, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(config())
    .route(
        Route::new("all", Arc::new(KeepAll))
            .sink(sink.clone())
            .policy(SinkPolicy {
                max_events: 100,
                max_delay: Duration::from_millis(500),
                ..SinkPolicy::default()
            }),
    )
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(sink.acked().len(), 1000);
    assert!(
        *sink.calls.lock().unwrap() <= 20,
        "{} calls",
        sink.calls.lock().unwrap()
    );
}

#[tokio::test]
async fn routes_can_be_added_replaced_and_removed_while_running() {
    /// Yields its events, then waits for the test to end it.
    #[derive(Debug)]
    struct Gated(CountingSource, Arc<tokio::sync::Notify>);
    #[async_trait]
    impl EventSource for Gated {
        fn id(&self) -> &str {
            "counting"
        }
        fn kind(&self) -> &'static str {
            "replay"
        }
        async fn start(&mut self, cp: Option<Checkpoint>) -> Result<(), SourceError> {
            self.0.start(cp).await
        }
        async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
            match self.0.next().await {
                Some(item) => Some(item),
                None => {
                    self.1.notified().await;
                    None
                }
            }
        }
    }
    async fn wait_for(sink: &ScriptedSink, n: usize) {
        for _ in 0..500 {
            if sink.acked().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("sink {} got {} of {n}", sink.name, sink.acked().len());
    }

    let store = Arc::new(MemoryStore::new());
    let end = Arc::new(tokio::sync::Notify::new());
    let mut pipeline = Pipeline::new(
        Box::new(Gated(CountingSource { n: 200, next: 0 }, end.clone())),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(config());
    let control = pipeline.route_control();
    let run = tokio::spawn(pipeline.run(CancellationToken::new()));

    // A route added while running starts at the beginning of the log.
    let first = Arc::new(ScriptedSink::new("late"));
    control
        .upsert(Route::new("late", Arc::new(KeepAll)).sink(first.clone()))
        .await
        .unwrap();
    wait_for(&first, 200).await;

    // Removed: its cursor stays; re-added under the same name it goes on from there.
    assert!(control.remove("late").await.unwrap());
    assert!(!control.remove("late").await.unwrap());
    assert_eq!(store.cursor("late").unwrap(), 200);
    let second = Arc::new(ScriptedSink::new("late"));
    control
        .upsert(Route::new("late", Arc::new(KeepAll)).sink(second.clone()))
        .await
        .unwrap();
    // Replacing a running route is the same as remove + add.
    let third = Arc::new(ScriptedSink::new("late"));
    control
        .upsert(Route::new("late", Arc::new(KeepAll)).sink(third.clone()))
        .await
        .unwrap();

    end.notify_one();
    let report = run.await.unwrap().unwrap();
    assert!(
        second.acked().is_empty() && third.acked().is_empty(),
        "nothing delivered twice"
    );
    assert_eq!(report.routes.len(), 3, "every route instance reports");
    assert!(
        control.remove("late").await.is_err(),
        "the pipeline has stopped"
    );
}

/// (checkpoint position heard, position the store held then, events stored then)
type Heard = Arc<Mutex<Vec<(String, Option<String>, u64)>>>;

/// A [`CountingSource`] whose commit hook records each committed checkpoint together with
/// what the store held for it at that moment.
#[derive(Debug)]
struct HookedSource {
    inner: CountingSource,
    store: Arc<MemoryStore>,
    seen: Heard,
}

#[async_trait]
impl EventSource for HookedSource {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        self.inner.start(checkpoint).await
    }
    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        self.inner.next().await
    }
    fn commit_hook(&self) -> Option<kev_core::CommitHook> {
        let store = Arc::clone(&self.store);
        let seen = Arc::clone(&self.seen);
        Some(Box::new(move |cp: &Checkpoint| {
            let stored = store.checkpoint("counting").unwrap().map(|c| c.position);
            let events = store.stats().unwrap().events;
            seen.lock()
                .unwrap()
                .push((cp.position.clone(), stored, events));
        }))
    }
}

#[tokio::test]
async fn the_commit_hook_hears_each_checkpoint_after_its_batch_is_stored() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let source = HookedSource {
        inner: CountingSource { n: 1200, next: 0 },
        store: Arc::clone(&store),
        seen: Arc::clone(&seen),
    };
    Pipeline::new(Box::new(source), Arc::new(PassThrough), store.clone())
        .config(config())
        .run(CancellationToken::new())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "one call per stored batch: {seen:?}");
    let mut last = 0;
    for (position, stored, events) in seen.iter() {
        assert_eq!(Some(position), stored.as_ref(), "called after the commit");
        let n: u64 = position.parse().unwrap();
        assert_eq!(*events, n, "the batch ending at {n} is in the store");
        assert!(n > last, "in order");
        last = n;
    }
    assert_eq!(last, 1200);
}

/// Records the route's committed cursor at each delivery; after `fail_after` batches it
/// fails every delivery (retryable).
#[derive(Debug)]
struct CursorWatchingSink {
    store: Arc<MemoryStore>,
    cursors: Mutex<Vec<u64>>,
    seqs: Mutex<Vec<u64>>,
    fail_after: Option<usize>,
}

#[async_trait]
impl Sink for CursorWatchingSink {
    fn name(&self) -> &str {
        "watching"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        let mut cursors = self.cursors.lock().unwrap();
        if self.fail_after.is_some_and(|n| cursors.len() >= n) {
            return Err(SinkError::retryable("503"));
        }
        cursors.push(self.store.cursor("backlog").unwrap());
        self.seqs
            .lock()
            .unwrap()
            .extend(batch.iter().map(|e| e.seq));
        Ok(())
    }
}

/// Stores `n` events, then drains them through one route in batches of 100; returns
/// the cursor seen at each delivery and the seqs delivered.
async fn drain_backlog(
    n: u64,
    fail_after: Option<usize>,
) -> (Arc<MemoryStore>, Vec<u64>, Vec<u64>) {
    let store = Arc::new(MemoryStore::new());
    let events: Vec<Event> = (1..=n)
        .map(|i| Event {
            uid: format!("uid-{i}"),
            resource_version: i.to_string(),
            ..Default::default()
        })
        .collect();
    store.append(&events, None).unwrap();
    let sink = Arc::new(CursorWatchingSink {
        store: store.clone(),
        cursors: Mutex::default(),
        seqs: Mutex::default(),
        fail_after,
    });
    Pipeline::new(
        Box::new(CountingSource { n: 0, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .config(PipelineConfig {
        drain_timeout: Duration::from_secs(5),
        ..config()
    })
    .route(
        Route::new("backlog", Arc::new(KeepAll))
            .sink(sink.clone())
            .policy(SinkPolicy {
                max_events: 100,
                ..SinkPolicy::default()
            }),
    )
    .run(CancellationToken::new())
    .await
    .unwrap();
    let cursors = sink.cursors.lock().unwrap().clone();
    let seqs = sink.seqs.lock().unwrap().clone();
    (store, cursors, seqs)
}

#[tokio::test(start_paused = true)]
async fn a_backlog_is_delivered_in_batches_and_committed_once_per_page() {
    let (store, cursors, seqs) = drain_backlog(2500, None).await;
    assert_eq!(
        seqs,
        (1..=2500).collect::<Vec<u64>>(),
        "all, once, in order"
    );
    // Pages of ten batches of 100; a page's commit runs while the next page is
    // delivered, and has ended before the one after it.
    assert_eq!(cursors.len(), 25);
    assert_eq!(cursors[..10], [0; 10]);
    assert!(
        cursors[10..20].iter().all(|c| [0, 1000].contains(c)),
        "{cursors:?}"
    );
    assert!(
        cursors[20..].iter().all(|c| [1000, 2000].contains(c)),
        "{cursors:?}"
    );
    assert_eq!(store.cursor("backlog").unwrap(), 2500);
}

#[tokio::test(start_paused = true)]
async fn a_page_cut_short_commits_the_batches_acknowledged_before() {
    let (store, cursors, _) = drain_backlog(1000, Some(3)).await;
    assert_eq!(cursors, [0, 0, 0]);
    // The drain deadline ended the retries of batch 4: batches 1-3 stay acknowledged.
    assert_eq!(store.cursor("backlog").unwrap(), 300);
}

#[tokio::test]
async fn route_stats_count_matches_deliveries_and_dead_letters_while_shared() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(ScriptedSink {
        refuse_uid: Some("uid-42".into()),
        ..ScriptedSink::new("hook")
    });
    let filter: kev_core::FilterConfig =
        serde_norway::from_str("match: [{namespace: ns-0}]").unwrap();
    let stats = kev_core::pipeline::RouteStats::default();
    let route = Route::new(
        "hook",
        Arc::new(kev_core::SelectorFilter::compile(&filter).unwrap()),
    )
    .sink(sink.clone())
    .stats_handle(stats.clone());
    assert!(route.stats().snapshot().last_matched.is_none());
    Pipeline::new(
        Box::new(CountingSource { n: 100, next: 0 }),
        Arc::new(PassThrough),
        store.clone(),
    )
    .route(route)
    .run(CancellationToken::new())
    .await
    .unwrap();
    // Events 3, 6, …, 99 are in ns-0: 33 match; 42 is refused for good.
    let s = stats.snapshot();
    assert_eq!((s.matched, s.delivered, s.dead_lettered), (33, 32, 1));
    assert_eq!((s.limited, s.cooled_down, s.below_threshold), (0, 0, 0));
    assert!(s.last_matched.is_some());
}
