//! Helpers of the end-to-end suites: a kev pipeline (kube source → [`SimpleNormalizer`]
//! → [`MemoryStore`]) against a [`FakeApiServer`], and waiting for a condition.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use kev_core::pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineReport};
use kev_core::{MemoryStore, Store};
use kev_kube_source::{KubeSource, KubeSourceConfig, SourceHealth};
use tokio_util::sync::CancellationToken;

use crate::SimpleNormalizer;
use crate::fake_api::{FakeApiServer, FakeConfig};
use crate::observed_store::ObservedStore;

/// A source config with delays small enough for tests: backoff 20 ms → 200 ms,
/// stall timeout 3 s, 2 failures to not-ready.
pub fn fast_config() -> KubeSourceConfig {
    KubeSourceConfig {
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        stall_timeout: Duration::from_secs(3),
        failure_threshold: 2,
        ..KubeSourceConfig::default()
    }
}

/// A fake server that sends bookmarks every 250 ms (a real one: about every minute), so
/// idle watches show progress well within [`fast_config`]'s stall timeout.
pub async fn fast_server() -> FakeApiServer {
    FakeApiServer::start_with(FakeConfig {
        bookmark_interval: Duration::from_millis(250),
        ..FakeConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("fake API server: {e}"))
}

/// Logs to the test output, filtered by `RUST_LOG` (default: warnings); once per process.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A pipeline running in the background.
#[derive(Debug)]
pub struct Running {
    pub store: Arc<MemoryStore>,
    pub health: SourceHealth,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<PipelineReport, PipelineError>>,
}

impl Running {
    /// Starts `kube source → SimpleNormalizer → store` against `server`.
    pub fn start(
        server: &FakeApiServer,
        config: KubeSourceConfig,
        store: Arc<MemoryStore>,
    ) -> Self {
        let memory = Arc::clone(&store);
        Self::launch(server, config, store, memory)
    }

    /// As [`Running::start`], into an [`ObservedStore`] (slow appends, lags); `store` of
    /// the result is its memory store.
    pub fn start_observed(
        server: &FakeApiServer,
        config: KubeSourceConfig,
        store: Arc<ObservedStore>,
    ) -> Self {
        let memory = Arc::clone(&store.inner);
        Self::launch(server, config, store, memory)
    }

    fn launch(
        server: &FakeApiServer,
        config: KubeSourceConfig,
        store: Arc<dyn Store>,
        memory: Arc<MemoryStore>,
    ) -> Self {
        init_logs();
        let source = KubeSource::with_client(server.client(), config)
            .unwrap_or_else(|e| panic!("kube source: {e}"));
        let health = source.health();
        let pipeline = Pipeline::new(Box::new(source), Arc::new(SimpleNormalizer), store).config(
            PipelineConfig {
                batch_max_delay: Duration::from_millis(5),
                ..PipelineConfig::default()
            },
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(pipeline.run(shutdown.clone()));
        Self {
            store: memory,
            health,
            shutdown,
            task,
        }
    }

    /// Stops the pipeline (the batch in hand is stored) and returns its report.
    pub async fn stop(self) -> PipelineReport {
        self.shutdown.cancel();
        match self.task.await {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => panic!("pipeline failed: {e}"),
            Err(e) => panic!("pipeline task: {e}"),
        }
    }
}

/// Every (uid, resourceVersion) in the store, and how many events it holds.
pub fn stored_keys(store: &MemoryStore) -> (HashSet<(String, u64)>, usize) {
    let events = store.read_log(0, usize::MAX).unwrap_or_default();
    let n = events.len();
    let keys = events
        .into_iter()
        .map(|s| {
            let rv = s.event.resource_version.parse().unwrap_or(0);
            (s.event.uid, rv)
        })
        .collect();
    (keys, n)
}

/// Waits until `cond` holds, polling every 25 ms; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Whether the store holds the latest version of every live Event on `server`.
pub fn has_latest(server: &FakeApiServer, store: &MemoryStore) -> bool {
    let (keys, _) = stored_keys(store);
    server
        .live()
        .iter()
        .all(|o| keys.contains(&(o.uid.clone(), o.rv)))
}
