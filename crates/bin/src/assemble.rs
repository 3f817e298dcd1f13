//! Builds the parts of a run from a validated config: store, source, normalizer, store
//! filter and routes; and readiness checks for `/readyz`.

use std::sync::Arc;

use anyhow::Context;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route, SinkPolicy};
use kev_core::{
    DefaultNormalizer, EventSource, MemoryStore, ReplaySource, SelectorFilter, Store, StoreError,
    SystemClock, TokenBucketLimiter,
};

use crate::config::{RawConfig, RouteConfig, SourceConfig, StoreConfig, StoreType};
use crate::server::Check;

pub use crate::sinks::SinkConfig;

/// What `kev run` runs.
pub struct Parts {
    pub pipeline: Pipeline,
    pub store: Arc<dyn Store>,
    pub readiness: Vec<Check>,
}

pub async fn assemble(config: &RawConfig, kube: Option<&KubeClient>) -> anyhow::Result<Parts> {
    let store = open_store(&config.store)?;
    let (source, mut readiness) = open_source(&config.source, kube)?;
    readiness.push(("store".into(), Box::new(|| true)));
    let normalizer = Arc::new(DefaultNormalizer::new(&config.normalize)?);
    let filter = Arc::new(SelectorFilter::compile(&config.filter).map_err(|e| e.within("filter"))?);
    let pipeline_config = PipelineConfig {
        batch_max_events: config.pipeline.batch_max_events,
        batch_max_delay: config.pipeline.batch_max_delay,
        drain_timeout: config.pipeline.drain_timeout,
        cluster: config.cluster.clone(),
        volume: config.metrics.clone(),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(source, normalizer, Arc::clone(&store))
        .store_filter(filter)
        .config(pipeline_config);
    // With policies, the routes come from the cluster; stdout is only the fallback of a
    // kev with nothing else to do.
    if config.routes.is_empty() && config.policies.source == crate::config::PolicySource::None {
        pipeline = pipeline.route(default_route()?);
    }
    for (i, route) in config.routes.iter().enumerate() {
        let built = build_route(route, &store, kube)
            .with_context(|| format!("routes[{i}] ({})", route.name))?;
        pipeline = pipeline.route(built);
    }
    Ok(Parts {
        pipeline,
        store,
        readiness,
    })
}

/// With no routes configured, every stored event is printed as a JSON line on stdout.
fn default_route() -> anyhow::Result<Route> {
    let sink: SinkConfig = serde_norway::from_str("type: stdout\nformat: json\n")?;
    Ok(Route::new("stdout", Arc::new(kev_core::filter::KeepAll)).sink(sink.build()?))
}

/// The client of the kube source (see [`kube_client`]); enrichment reads logs and specs
/// from the same cluster as the events.
#[cfg(feature = "kube")]
pub type KubeClient = kube::Client;
#[cfg(not(feature = "kube"))]
pub type KubeClient = std::convert::Infallible;

/// The one client of a kube source: the source, the enricher and the EventPolicy watch
/// all use it, so its `qps`/`burst` budget covers all their requests (leader election
/// has a client of its own). `None` for other sources.
#[cfg_attr(not(feature = "kube"), allow(unused_variables))]
pub async fn kube_client(source: &SourceConfig) -> anyhow::Result<Option<KubeClient>> {
    #[cfg(feature = "kube")]
    if let SourceConfig::Kube(kube) = source {
        return Ok(Some(kev_kube_source::build_client(kube).await?));
    }
    Ok(None)
}

/// Builds a route of the config file, or of an EventPolicy (`policies::translate`).
pub(crate) fn build_route(
    config: &RouteConfig,
    store: &Arc<dyn Store>,
    kube: Option<&KubeClient>,
) -> anyhow::Result<Route> {
    let filter = SelectorFilter::compile(&config.filter_config())?;
    let mut route = Route::new(config.name.clone(), Arc::new(filter)).policy(SinkPolicy {
        max_events: config.batch.max_events,
        max_delay: config.batch.max_delay,
        retry_initial: config.retry.initial,
        retry_max: config.retry.max,
    });
    if let Some(limit) = &config.rate_limit {
        let limiter =
            TokenBucketLimiter::new(limit, &config.name, Arc::new(SystemClock::default()))
                .map_err(|e| e.within("rate_limit"))?;
        route = route.limiter(Box::new(limiter));
    }
    if let Some(remediation) = &config.remediation {
        route = route.remediation(kev_core::RemediationGate::new(
            config.name.clone(),
            remediation.clone(),
        ));
    }
    if let Some(enrich) = &config.enrich {
        #[cfg_attr(not(feature = "kube"), allow(unused_mut))] // pushed to with `kube` only
        let mut parts: Vec<Arc<dyn kev_core::Enricher>> =
            vec![Arc::new(kev_core::enrich::RelatedEventsEnricher::new(
                Arc::clone(store),
                enrich.related_events.clone(),
            ))];
        #[cfg(feature = "kube")]
        if let Some(client) = kube {
            parts.push(Arc::new(kev_kube_source::enrich::KubeEnricher::new(
                client.clone(),
                enrich.clone(),
            )));
        }
        #[cfg(not(feature = "kube"))]
        let _ = kube;
        route = route.enricher(Arc::new(kev_core::enrich::Enrichers(parts)));
    }
    for (i, sink) in config.sinks.iter().enumerate() {
        let built = sink
            .build_for_route(&config.name, Arc::clone(store))
            .map_err(|e| e.within(&format!("sinks[{i}]")))?;
        route = route.sink(built);
    }
    Ok(route)
}

/// Opens the configured store for writing.
pub fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config.r#type {
        StoreType::Memory => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "redb")]
        StoreType::Redb => Ok(Arc::new(kev_storage_redb::RedbStore::open(
            &config.path,
            kev_storage_redb::RedbOptions::default(),
        )?)),
        #[cfg(feature = "sled")]
        StoreType::Sled => Ok(Arc::new(kev_storage_sled::SledStore::open(
            &config.path,
            kev_storage_sled::SledOptions::default(),
        )?)),
        #[allow(unreachable_patterns)]
        other => Err(StoreError::Backend {
            op: kev_core::store::StoreOp::Open,
            backend: "kev",
            path: config.path.display().to_string(),
            source: format!(
                "store type {other:?} is not compiled into this kev; rebuild with `--features {}`",
                format!("{other:?}").to_lowercase()
            )
            .into(),
        }),
    }
}

/// Opens the configured store for the read commands, without creating one.
pub fn open_store_for_reading(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config.r#type {
        #[cfg(feature = "redb")]
        StoreType::Redb => Ok(Arc::new(kev_storage_redb::RedbStore::open(
            &config.path,
            kev_storage_redb::RedbOptions::read_only(),
        )?)),
        StoreType::Memory => Err(StoreError::Backend {
            op: kev_core::store::StoreOp::Open,
            backend: "memory",
            path: config.path.display().to_string(),
            source:
                "a memory store keeps nothing after `kev run` exits: there is no history to read"
                    .into(),
        }),
        _ => open_store(config),
    }
}

/// `kube`: the client from [`kube_client`] for a kube source.
#[cfg_attr(not(feature = "kube"), allow(unused_variables))]
fn open_source(
    config: &SourceConfig,
    kube: Option<&KubeClient>,
) -> anyhow::Result<(Box<dyn EventSource>, Vec<Check>)> {
    match config {
        SourceConfig::Replay { path } => Ok((Box::new(ReplaySource::open(path)?), Vec::new())),
        #[cfg(feature = "kube")]
        SourceConfig::Kube(config) => {
            let client = kube
                .cloned()
                .context("the kube source is opened with its client")?;
            let source = kev_kube_source::KubeSource::with_client(client, config.clone())?;
            let health = source.health();
            let check: Check = ("watch".into(), Box::new(move || health.is_ready()));
            Ok((Box::new(source), vec![check]))
        }
        #[cfg(feature = "nats")]
        SourceConfig::Nats(nats) => Ok((Box::new(nats.build()?), Vec::new())),
    }
}
