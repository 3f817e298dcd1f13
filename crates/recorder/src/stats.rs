//! [`RecorderStats`]: what a recorder did, counted in-process and exported as the
//! `kev_recorder_*` metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use kev_core::metrics::{
    RECORDER_API_CALLS_TOTAL, RECORDER_BAD_REASONS_TOTAL, RECORDER_DROPPED_TOTAL,
    RECORDER_EVENTS_TOTAL,
};

use super::new_event::DropReason;

/// A snapshot of a recorder's counters (the same numbers as its metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Events accepted by `record` (queued).
    pub accepted: u64,
    /// Dropped events, indexed like [`DropReason`]; read with [`dropped`](Self::dropped).
    dropped: [u64; 9],
    /// Reasons that were not UpperCamelCase.
    pub bad_reasons: u64,
    /// POSTs sent.
    pub creates: u64,
    /// PATCHes sent.
    pub patches: u64,
    /// Discovery requests sent.
    pub discoveries: u64,
    /// Keys remembered by the spam filter now.
    pub spam_keys: usize,
    /// Series (events.k8s.io/v1) or correlator records (core/v1) in memory now.
    pub cached_series: usize,
}

impl RecorderStats {
    /// Events dropped for `why`.
    pub fn dropped(&self, why: DropReason) -> u64 {
        self.dropped[why.index()]
    }

    /// Events dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    dropped: [AtomicU64; 9],
    bad_reasons: AtomicU64,
    creates: AtomicU64,
    patches: AtomicU64,
    discoveries: AtomicU64,
}

/// The verbs of `kev_recorder_api_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Create,
    Patch,
    Discover,
}

impl Counters {
    pub(crate) fn accepted(&self, r#type: &'static str, reason: String) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(RECORDER_EVENTS_TOTAL, "type" => r#type, "reason" => reason).increment(1);
    }

    pub(crate) fn dropped(&self, why: DropReason) {
        self.dropped[why.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!(RECORDER_DROPPED_TOTAL, "why" => why.as_str()).increment(1);
    }

    pub(crate) fn bad_reason(&self) {
        self.bad_reasons.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(RECORDER_BAD_REASONS_TOTAL).increment(1);
    }

    pub(crate) fn api_call(&self, verb: Verb) {
        let (counter, label) = match verb {
            Verb::Create => (&self.creates, "create"),
            Verb::Patch => (&self.patches, "patch"),
            Verb::Discover => (&self.discoveries, "discover"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(RECORDER_API_CALLS_TOTAL, "verb" => label).increment(1);
    }

    pub(crate) fn snapshot(&self) -> RecorderStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut dropped = [0; 9];
        for why in DropReason::ALL {
            dropped[why.index()] = load(&self.dropped[why.index()]);
        }
        RecorderStats {
            accepted: load(&self.accepted),
            dropped,
            bad_reasons: load(&self.bad_reasons),
            creates: load(&self.creates),
            patches: load(&self.patches),
            discoveries: load(&self.discoveries),
            spam_keys: 0,
            cached_series: 0,
        }
    }
}
