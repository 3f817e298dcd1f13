//! Builds the parts of a run from a [`ValidatedConfig`]: store, source, normalizer,
//! store filter and routes; and the readiness checks for `/readyz`.

use std::sync::Arc;

use kev_core::config::ConfigError;
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, Route};
use kev_core::source::replay::ReplayProgress;
use kev_core::{RemediationGate, Store, SystemClock, TokenBucketLimiter};

use crate::backends::route::enricher;
use crate::backends::sinks::SinkConfig;
use crate::backends::source::{KubeClient, OpenedSource};
use crate::config::{PolicySource, ValidatedConfig, ValidatedRoute};
use crate::error::DaemonError;
use crate::server::Check;

/// What `kev run` runs.
pub struct Parts {
    pub pipeline: Pipeline,
    pub store: Arc<dyn Store>,
    pub readiness: Vec<Check>,
    /// What a replay read, to tell an input with no event in it from an empty one.
    pub replay: Option<ReplayProgress>,
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
    let OpenedSource {
        source,
        checks: mut readiness,
        replay,
    } = raw.source.open(kube)?;
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
        // Gathered context is redacted as messages are (`normalize.redact`).
        pipeline = pipeline.route(built.redactor(config.normalizer.redactor().clone()));
    }
    Ok(Parts {
        pipeline,
        store,
        readiness,
        replay,
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

#[cfg(test)]
mod tests {
    use kev_core::{Event, EventType};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::config::{RawConfig, RouteConfig};

    fn validated(yaml: &str) -> ValidatedConfig {
        RawConfig::parse(yaml, "test", Vec::new())
            .unwrap()
            .validate()
            .unwrap()
    }

    #[tokio::test]
    async fn a_replay_goes_through_the_assembled_route_into_its_sink() {
        let events = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/events/cluster-events.json"
        );
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("warnings.jsonl");
        let config = validated(&format!(
            "source: {{type: replay, path: '{events}'}}\n\
             store: {{type: memory}}\n\
             routes:\n\
             - {{name: warnings, match: [{{type: Warning}}], sinks: [{{type: file, path: '{}'}}]}}\n",
            out.display()
        ));
        let parts = assemble(&config, None).unwrap();
        let checks: Vec<&str> = parts.readiness.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(checks, ["store"], "a replay brings no check of its own");
        parts.pipeline.run(CancellationToken::new()).await.unwrap();
        let stored = parts.store.stats().unwrap().events;
        let delivered: Vec<Event> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            !delivered.is_empty() && (delivered.len() as u64) < stored,
            "{stored}"
        );
        assert!(delivered.iter().all(|e| e.r#type == EventType::Warning));
    }

    #[test]
    fn routes_are_built_from_their_compiled_filter_with_their_parts() {
        let route: RouteConfig = serde_norway::from_str(
            "name: hook\n\
             match: [{reason: BackOff}]\n\
             rate_limit: {per_minute: 6, burst: 2}\n\
             enrich: {related_events: {enabled: true}}\n\
             sinks: [{type: stdout}, {type: stdout, format: json}]\n",
        )
        .unwrap();
        let store: Arc<dyn Store> = Arc::new(kev_core::MemoryStore::new());
        let built = build_route(&ValidatedRoute::compile(route).unwrap(), &store, None).unwrap();
        assert_eq!(built.name(), "hook");

        let bad: RouteConfig = serde_norway::from_str(
            "name: bad\nmatch: [{message: '(unclosed'}]\nsinks: [{type: stdout}]\n",
        )
        .unwrap();
        let err = ValidatedRoute::compile(bad).unwrap_err();
        assert_eq!(err.path, "match[0].message");
    }

    #[test]
    fn a_store_that_cannot_be_opened_stops_the_assembly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let validated = RawConfig::parse(
            &format!(
                "source: {{type: replay, path: '-'}}\nstore: {{path: '{}'}}\n",
                file.display()
            ),
            "test",
            Vec::new(),
        )
        .unwrap()
        .validate();
        if !cfg!(feature = "redb") {
            assert!(
                validated.is_err(),
                "redb is not compiled in: a config error"
            );
            return;
        }
        let config = validated.unwrap();
        let err = assemble(&config, None).unwrap_err();
        assert!(matches!(err, DaemonError::Store(_)), "{err:?}");
    }
}
