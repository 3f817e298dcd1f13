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
mod route;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::filter::Filter;
use crate::normalize::Normalizer;
use crate::source::{EventSource, SourceError};
use crate::store::{Store, StoreError};

pub use backoff::Backoff;
pub use compactor::{CompactorConfig, compact_round, run_compactor};
pub use route::{Route, RouteReport, SinkPolicy};

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
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_max_events: 500,
            batch_max_delay: Duration::from_millis(50),
            channel_capacity: 4096,
            drain_timeout: Duration::from_secs(30),
            cluster: String::new(),
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

    /// Applies retention in the background while the pipeline runs.
    #[must_use]
    pub fn compactor(mut self, config: CompactorConfig) -> Self {
        self.compactor = Some(config);
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
        } = self;
        let checkpoint = blocking(&store, {
            let id = source.id().to_owned();
            move |s| s.checkpoint(&id)
        })
        .await?;
        source.start(checkpoint).await?;

        let last_seq = blocking(&store, |s| s.last_seq()).await?;
        let (seq_tx, seq_rx) = watch::channel(last_seq);
        let ingest_done = CancellationToken::new();
        let drain_deadline = CancellationToken::new();

        let compactor_stop = CancellationToken::new();
        let compactor_task = compactor
            .map(|c| tokio::spawn(run_compactor(Arc::clone(&store), c, compactor_stop.clone())));

        let mut route_tasks = tokio::task::JoinSet::new();
        for route in routes {
            let ctx = route::RouteContext {
                store: Arc::clone(&store),
                last_seq: seq_rx.clone(),
                ingest_done: ingest_done.clone(),
                abort: drain_deadline.clone(),
            };
            route_tasks.spawn(route.run(ctx));
        }

        let ingest = ingest::Ingest {
            normalizer,
            filter,
            store: Arc::clone(&store),
            config: config.clone(),
            last_seq: seq_tx,
        };
        let ingest_result = ingest.run(source, shutdown.clone()).await;
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
        while let Some(joined) = route_tasks.join_next().await {
            match joined {
                Ok(Ok(r)) => report.routes.push(r),
                Ok(Err(e)) => route_error = Some(e),
                Err(e) => route_error = Some(PipelineError::Task(e.to_string())),
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

/// Runs a store call on the blocking pool: the embedded databases do file IO.
pub(crate) async fn blocking<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}
