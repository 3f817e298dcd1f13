//! The store metrics every backend reports, written once here so that each is emitted
//! in one place, labelled with the backend: a store calls these after its own writes
//! (the compactor task itself counts nothing, or every removal would count twice).

use super::CompactOutcome;
use crate::metrics as m;

/// `kev_store_append_seconds`: how long one append took.
pub fn record_append(backend: &'static str, took: std::time::Duration) {
    metrics::histogram!(m::STORE_APPEND_SECONDS, "backend" => backend).record(took.as_secs_f64());
}

/// `kev_store_events` and `kev_store_bytes` after a write.
pub fn record_size(backend: &'static str, events: u64, bytes: u64) {
    metrics::gauge!(m::STORE_EVENTS, "backend" => backend).set(events as f64);
    metrics::gauge!(m::STORE_BYTES, "backend" => backend).set(bytes as f64);
}

/// `kev_store_compacted_total` and `kev_store_evicted_undelivered_total` after a
/// committed [`super::Store::compact`] step.
pub fn record_compaction(backend: &'static str, out: &CompactOutcome) {
    metrics::counter!(m::STORE_COMPACTED_TOTAL, "backend" => backend).increment(out.removed);
    metrics::counter!(m::STORE_EVICTED_UNDELIVERED_TOTAL, "backend" => backend)
        .increment(out.evicted_undelivered);
}
