//! Builds the parts of a run from a [`ValidatedConfig`]: store, source, normalizer,
//! store filter and routes; and the readiness checks for `/readyz`.

use std::sync::Arc;

use kev_core::config::ConfigError;
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route};
use kev_core::{RemediationGate, Store, SystemClock, TokenBucketLimiter};

use crate::backends::route::enricher;
use crate::backends::sinks::SinkConfig;
use crate::backends::source::KubeClient;
use crate::config::{PolicySource, ValidatedConfig, ValidatedRoute};
use crate::error::DaemonError;
use crate::server::Check;

/// What `kev run` runs.
pub struct Parts {
    pub pipeline: Pipeline,
    pub store: Arc<dyn Store>,
    pub readiness: Vec<Check>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks: Vec<&str> = self
            .readiness
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        f.debug_struct("Parts")
            .field("pipeline", &self.pipeline)
            .field("store", &self.store)
            .field("readiness", &checks)
            .finish()
    }
}

/// Opens the store and the source and builds the pipeline with its routes; `kube` is
/// the client of a kube source ([`crate::config::SourceConfig::kube_client`]).
pub fn assemble(config: &ValidatedConfig, kube: Option<&KubeClient>) -> Result<Parts, DaemonError> {
    let raw = config.raw();
    let store = config.store.open(&raw.store.path)?;
    let (source, mut readiness) = raw.source.open(kube)?;
    readiness.push(("store".into(), Box::new(|| true)));
    let pipeline_config = PipelineConfig {
        batch_max_events: raw.pipeline.batch_max_events,
        batch_max_delay: raw.pipeline.batch_max_delay,
        drain_timeout: raw.pipeline.drain_timeout,
        cluster: raw.cluster.clone(),
        volume: raw.metrics.clone(),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(source, config.normalizer.clone(), Arc::clone(&store))
        .store_filter(config.filter.clone())
        .config(pipeline_config);
    // With policies, the routes come from the cluster; stdout is only the fallback of a
    // kev with nothing else to do.
    if config.routes.is_empty() && raw.policies.source == PolicySource::None {
        pipeline = pipeline.route(default_route()?);
    }
    for (index, route) in config.routes.iter().enumerate() {
        let built = build_route(route, &store, kube).map_err(|source| DaemonError::Route {
            index,
            name: route.config().name.clone(),
            source,
        })?;
        pipeline = pipeline.route(built);
    }
    Ok(Parts {
        pipeline,
        store,
        readiness,
    })
}

/// With no routes configured, every stored event is printed as a JSON line on stdout.
fn default_route() -> Result<Route, DaemonError> {
    let sink: SinkConfig = serde_norway::from_str("type: stdout\nformat: json\n")
        .map_err(|e| DaemonError::Backend(Box::new(e)))?;
    Ok(Route::new("stdout", Arc::new(KeepAll)).sink(sink.build()?))
}

/// Builds a route of the config file, or of an EventPolicy (`policy::translate`).
pub fn build_route(
    route: &ValidatedRoute,
    store: &Arc<dyn Store>,
    kube: Option<&KubeClient>,
) -> Result<Route, ConfigError> {
    let config = route.config();
    let mut built =
        Route::new(config.name.clone(), route.filter().clone()).policy(config.sink_policy());
    if let Some(limit) = &config.rate_limit {
        let limiter =
            TokenBucketLimiter::new(limit, &config.name, Arc::new(SystemClock::default()))
                .map_err(|e| e.within("rate_limit"))?;
        built = built.limiter(Box::new(limiter));
    }
    if let Some(remediation) = &config.remediation {
        built = built.remediation(RemediationGate::new(
            config.name.clone(),
            remediation.clone(),
        ));
    }
    if let Some(enrich) = &config.enrich {
        built = built.enricher(enricher(enrich, store, kube));
    }
    for (i, sink) in config.sinks.iter().enumerate() {
        let sink = sink
            .build_for_route(&config.name, Arc::clone(store))
            .map_err(|e| e.within(&format!("sinks[{i}]")))?;
        built = built.sink(sink);
    }
    Ok(built)
}
