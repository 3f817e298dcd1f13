//! The generic pipeline: [`Pipeline::run`] drives a source into the store and every
//! route from the store to its sinks.
//!
//! ```text
//! source task ─(bounded channel)─▶ ingest: normalize, filter, batch, Store::append
//!                                     │ last stored seq (watch channel)
//!                      route tasks ◀──┘ read the log from their cursor, filter, limit,
//!                                       deliver, then commit the cursor
//! ```
//!
//! Shutdown (the token is cancelled, or the source ends): the source stops, the batch in
//! hand is stored, and routes deliver up to the last stored event before returning,
//! within [`PipelineConfig::drain_timeout`].

mod backoff;
mod compactor;
mod ingest;
pub mod redeliver;
mod route;
mod stored_at;
mod volume;

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::condition::ConditionTracker;
use crate::filter::Filter;
use crate::normalize::Normalizer;
use crate::source::{EventSource, SourceError};
use crate::store::{AsyncStore, Store, StoreError};

pub use backoff::Backoff;
pub use compactor::{CompactorConfig, compact_round, run_compactor};
pub use route::{Route, RouteReport, RouteStats, RouteStatsSnapshot, SinkPolicy};
pub use volume::{EventVolume, EventVolumeConfig, VolumeTally};

/// Errors that stop the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error("source failed: {0}")]
    Source(#[from] SourceError),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("pipeline task failed: {0}")]
    Task(String),
}

/// Batching and shutdown settings of the ingest side.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Events per `Store::append`.
    pub batch_max_events: usize,
    /// How long a partial batch may wait for more events before it is stored.
    pub batch_max_delay: Duration,
    /// Capacity of the channel between the source and the ingest task.
    pub channel_capacity: usize,
    /// How long routes may take to deliver what is stored after shutdown begins.
    pub drain_timeout: Duration,
    /// Name of the cluster stamped on events that do not carry one.
    pub cluster: String,
    /// Labels of `kev_events_total`.
    pub volume: EventVolumeConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_max_events: 500,
            // Short enough for a p99 watch-to-stored lag well under 50 ms at 1k events/s.
            batch_max_delay: Duration::from_millis(10),
            channel_capacity: 4096,
            drain_timeout: Duration::from_secs(30),
            cluster: String::new(),
            volume: EventVolumeConfig::default(),
        }
    }
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineReport {
    pub received: u64,
    pub normalize_errors: u64,
    pub filtered: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub routes: Vec<RouteReport>,
}

/// A source, a normalizer, a store filter, a store and routes, ready to run.
#[derive(Debug)]
pub struct Pipeline {
    source: Box<dyn EventSource>,
    normalizer: Arc<dyn Normalizer>,
    filter: Arc<dyn Filter>,
    store: Arc<dyn Store>,
    routes: Vec<Route>,
    config: PipelineConfig,
    compactor: Option<CompactorConfig>,
    control: Option<mpsc::Receiver<RouteCommand>>,
    control_tx: Option<mpsc::Sender<RouteCommand>>,
    conditions: Option<Arc<ConditionTracker>>,
}

impl Pipeline {
    pub fn new(
        source: Box<dyn EventSource>,
        normalizer: Arc<dyn Normalizer>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            source,
            normalizer,
            filter: Arc::new(crate::filter::KeepAll),
            store,
            routes: Vec::new(),
            config: PipelineConfig::default(),
            compactor: None,
            control: None,
            control_tx: None,
            conditions: None,
        }
    }

    /// Which events are stored at all (the store filter).
    #[must_use]
    pub fn store_filter(mut self, filter: Arc<dyn Filter>) -> Self {
        self.filter = filter;
        self
    }

    #[must_use]
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    #[must_use]
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// A handle to add, replace and remove routes while the pipeline runs, and to reach
    /// their sinks; every call hands out a handle on the same routes.
    pub fn route_control(&mut self) -> RouteControl {
        let tx = self.control_tx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel(16);
            self.control = Some(rx);
            tx
        });
        RouteControl { tx: tx.clone() }
    }

    /// Applies retention in the background while the pipeline runs.
    #[must_use]
    pub fn compactor(mut self, config: CompactorConfig) -> Self {
        self.compactor = Some(config);
        self
    }

    /// Feeds stored events to `tracker` (the state gauges), rebuilt from the store first.
    pub fn conditions(mut self, tracker: Arc<ConditionTracker>) -> Self {
        self.conditions = Some(tracker);
        self
    }

    /// Runs until the source ends or `shutdown` is cancelled, then drains the routes.
    pub async fn run(self, shutdown: CancellationToken) -> Result<PipelineReport, PipelineError> {
        let Self {
            mut source,
            normalizer,
            filter,
            store,
            routes,
            config,
            compactor,
            mut control,
            control_tx,
            conditions,
        } = self;
        // The pipeline's own sender would keep the channel open after every handle is gone.
        drop(control_tx);
        let store = AsyncStore::new(store);
        let held = store
            .run(crate::store::StoreOp::Read, |s| {
                crate::store::dead_letters::held_by_route(s)
            })
            .await?;
        crate::store::telemetry::record_dead_letters_held(&held);
        if let Some(tracker) = &conditions {
            crate::condition::rebuild::rebuild(Arc::clone(tracker), &store).await?;
        }
        let checkpoint = store.checkpoint(source.id()).await?;
        source.start(checkpoint).await?;

        let last_seq = store.last_seq().await?;
        let (seq_tx, seq_rx) = watch::channel(last_seq);
        let ingest_done = CancellationToken::new();
        let drain_deadline = CancellationToken::new();

        let compactor_stop = CancellationToken::new();
        let compactor_task = compactor
            .map(|c| tokio::spawn(run_compactor(store.clone(), c, compactor_stop.clone())));

        let mut routes_running = RouteSet {
            tasks: HashMap::new(),
            store: store.clone(),
            last_seq: seq_rx,
            ingest_done: ingest_done.clone(),
            drain_deadline: drain_deadline.clone(),
            finished: Vec::new(),
            stored_at: stored_at::StoredAt::default(),
            targets: redeliver::RouteTargets::new(),
        };
        for route in routes {
            routes_running.upsert(route).await;
        }

        let ingest = ingest::Ingest {
            normalizer,
            filter,
            store: store.clone(),
            config: config.clone(),
            last_seq: seq_tx,
            stored_at: routes_running.stored_at.clone(),
            volume: std::sync::Mutex::new(EventVolume::new(config.volume.clone())),
            conditions,
        };
        let mut ingest_task = tokio::spawn(ingest.run(source, shutdown.clone()));
        let mut control_open = control.is_some();
        let ingest_result = loop {
            tokio::select! {
                joined = &mut ingest_task => {
                    break joined.map_err(|e| PipelineError::Task(e.to_string())).and_then(|r| r);
                }
                command = recv(&mut control), if control_open => match command {
                    Some(RouteCommand::Upsert(route, done)) => {
                        routes_running.upsert(*route).await;
                        let _ = done.send(());
                    }
                    Some(RouteCommand::Remove(name, done)) => {
                        let _ = done.send(routes_running.remove(&name).await);
                    }
                    Some(RouteCommand::Targets(done)) => {
                        let _ = done.send(routes_running.targets.clone());
                    }
                    None => control_open = false,
                },
            }
        };
        ingest_done.cancel();

        // Routes now deliver what is stored; past the drain timeout they stop where they
        // are and their cursors stay put, so the rest is delivered after a restart.
        let deadline = {
            let token = drain_deadline.clone();
            let timeout = config.drain_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                token.cancel();
            })
        };
        let mut report = PipelineReport::default();
        let mut route_error = None;
        for result in routes_running.finish().await {
            match result {
                Ok(r) => report.routes.push(r),
                Err(e) => route_error = Some(e),
            }
        }
        deadline.abort();
        compactor_stop.cancel();
        if let Some(task) = compactor_task {
            let _ = task.await;
        }
        report.routes.sort_by(|a, b| a.route.cmp(&b.route));

        let ingest_report = ingest_result?;
        if let Some(e) = route_error {
            return Err(e);
        }
        report.received = ingest_report.received;
        report.normalize_errors = ingest_report.normalize_errors;
        report.filtered = ingest_report.filtered;
        report.stored = ingest_report.stored;
        report.duplicates = ingest_report.duplicates;
        Ok(report)
    }
}

/// Changes the routes of a running [`Pipeline`]: routes defined by EventPolicy objects
/// come and go without a restart. A route's cursor lives in the store under its name,
/// so a replaced or re-added route goes on where it stopped.
#[derive(Debug, Clone)]
pub struct RouteControl {
    tx: mpsc::Sender<RouteCommand>,
}

/// The pipeline has stopped: routes can no longer change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pipeline is not running")]
pub struct PipelineStopped;

#[derive(Debug)]
enum RouteCommand {
    Upsert(Box<Route>, oneshot::Sender<()>),
    Remove(String, oneshot::Sender<bool>),
    Targets(oneshot::Sender<redeliver::RouteTargets>),
}

impl RouteControl {
    /// Starts `route`, or replaces the running route of the same name (which stops where
    /// it is, uncommitted deliveries are repeated by the new one: at least once).
    pub async fn upsert(&self, route: Route) -> Result<(), PipelineStopped> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(RouteCommand::Upsert(Box::new(route), done))
            .await
            .map_err(|_| PipelineStopped)?;
        wait.await.map_err(|_| PipelineStopped)
    }

    /// Stops the route `name`; its cursor stays in the store. False if none ran.
    pub async fn remove(&self, name: &str) -> Result<bool, PipelineStopped> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(RouteCommand::Remove(name.to_owned(), done))
            .await
            .map_err(|_| PipelineStopped)?;
        wait.await.map_err(|_| PipelineStopped)
    }

    /// The sinks and enrichers of the routes running now, for a retry of dead letters.
    pub async fn targets(&self) -> Result<redeliver::RouteTargets, PipelineStopped> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(RouteCommand::Targets(done))
            .await
            .map_err(|_| PipelineStopped)?;
        wait.await.map_err(|_| PipelineStopped)
    }
}

async fn recv(control: &mut Option<mpsc::Receiver<RouteCommand>>) -> Option<RouteCommand> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

type RouteTask = tokio::task::JoinHandle<Result<RouteReport, PipelineError>>;

/// The running routes, each with its own stop token under the drain deadline.
struct RouteSet {
    tasks: HashMap<String, (RouteTask, CancellationToken)>,
    store: AsyncStore,
    last_seq: watch::Receiver<u64>,
    ingest_done: CancellationToken,
    drain_deadline: CancellationToken,
    finished: Vec<Result<RouteReport, PipelineError>>,
    stored_at: stored_at::StoredAt,
    /// What each running route delivers with.
    targets: redeliver::RouteTargets,
}

impl RouteSet {
    async fn upsert(&mut self, route: Route) {
        let name = route.name().to_owned();
        self.remove(&name).await;
        let stop = self.drain_deadline.child_token();
        let ctx = route::RouteContext {
            store: self.store.clone(),
            last_seq: self.last_seq.clone(),
            ingest_done: self.ingest_done.clone(),
            abort: stop.clone(),
            stored_at: self.stored_at.clone(),
        };
        tracing::info!(route = %name, "route started");
        self.targets.insert(name.clone(), route.target());
        self.tasks
            .insert(name, (tokio::spawn(route.run(ctx)), stop));
    }

    async fn remove(&mut self, name: &str) -> bool {
        let Some((task, stop)) = self.tasks.remove(name) else {
            return false;
        };
        self.targets.remove(name);
        stop.cancel();
        let result = task
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))
            .and_then(|r| r);
        tracing::info!(route = %name, "route stopped");
        self.finished.push(result);
        true
    }

    /// Waits for every route (they stop by themselves once the log is delivered or the
    /// drain deadline passed) and returns all their results.
    async fn finish(mut self) -> Vec<Result<RouteReport, PipelineError>> {
        for (_, (task, _)) in self.tasks.drain() {
            self.finished.push(
                task.await
                    .map_err(|e| PipelineError::Task(e.to_string()))
                    .and_then(|r| r),
            );
        }
        self.finished
    }
}
