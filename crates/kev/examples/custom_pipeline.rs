// A pipeline of your own: the bundled sample replayed into a redb store, and a sink of
// your own that counts the warnings per reason. `cargo run -p kev --example custom_pipeline [FILE]`
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kev::pipeline::{Pipeline, Route};
use kev::{Batch, DefaultNormalizer, ReplaySource, SelectorFilter, Sink, SinkError};

/// Counts the events it is given, by reason (the route gives it the warnings).
#[derive(Debug, Default)]
struct WarningCounter(Mutex<BTreeMap<String, u64>>);

#[async_trait::async_trait]
impl Sink for WarningCounter {
    fn name(&self) -> &str {
        "warning-counter"
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let mut counts = self
            .0
            .lock()
            .map_err(|_| SinkError::permanent("poisoned"))?;
        for stored in batch.events() {
            *counts.entry(stored.event.reason.clone()).or_default() += 1;
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/events/cluster-events.json"
    );
    let input = std::env::args().nth(1).unwrap_or_else(|| sample.to_owned());
    let dir = tempfile::tempdir()?;
    let store = Arc::new(kev::redb::RedbStore::open(dir.path(), Default::default())?);

    let counter = Arc::new(WarningCounter::default());
    let warnings = SelectorFilter::compile(&serde_norway::from_str("match: [{type: Warning}]")?)?;
    let route = Route::new("warnings", Arc::new(warnings)).sink(counter.clone());
    let normalizer = Arc::new(DefaultNormalizer::new(&Default::default())?);
    let pipeline =
        Pipeline::new(Box::new(ReplaySource::open(&input)?), normalizer, store).route(route);

    let report = pipeline.run(Default::default()).await?;
    let counts = counter.0.lock().map_err(|_| "poisoned")?;
    println!(
        "stored {} events; warnings by reason: {counts:?}",
        report.stored
    );
    if report.stored == 0 || counts.is_empty() {
        return Err("the sample should hold warnings".into());
    }
    Ok(())
}
