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

/// `kev_dead_letters{route}` for every route that holds some, when a pipeline starts
/// (routes are a bounded set: the config's and the EventPolicies').
pub fn record_dead_letters_held(held: &std::collections::BTreeMap<String, u64>) {
    for (route, n) in held {
        metrics::gauge!(m::DEAD_LETTERS, "route" => route.clone()).set(*n as f64);
    }
}

/// `kev_dead_letters{route}` after a dead letter was written.
pub fn record_dead_letter_added(route: &str) {
    metrics::gauge!(m::DEAD_LETTERS, "route" => route.to_owned()).increment(1.0);
}

/// `kev_dead_letters{route}` after these were removed (retried or dropped).
pub fn record_dead_letters_removed(removed: &[super::DeadLetter]) {
    for letter in removed {
        metrics::gauge!(m::DEAD_LETTERS, "route" => letter.route.clone()).decrement(1.0);
    }
}
