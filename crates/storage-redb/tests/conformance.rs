//! RedbStore passes kev-core's store conformance suite and the model test.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use kev_core::testkit::store::{Persistent, model};
use kev_storage_redb::{RedbOptions, RedbStore};

fn open(dir: &Path) -> RedbStore {
    RedbStore::open(dir, RedbOptions::default()).unwrap()
}

kev_core::store_conformance_tests!(Persistent(open));

#[test]
fn model_test_with_fsync() {
    model::model_test(&Persistent(open), 16);
}

#[test]
fn model_test_against_memory() {
    let open = |dir: &Path| {
        let opts = RedbOptions {
            durable: false,
            ..RedbOptions::default()
        };
        RedbStore::open(dir, opts).unwrap()
    };
    model::model_test(&Persistent(open), 40);
}

/// The same checks on index segments of 3 seqs, so that queries merge several segments
/// (whose times overlap: the model's events come in random time order) and compaction
/// drops whole ones.
mod tiny_segments {
    use super::*;

    fn open(dir: &Path) -> RedbStore {
        let opts = RedbOptions {
            durable: false,
            segment_events: 3,
            ..RedbOptions::default()
        };
        RedbStore::open(dir, opts).unwrap()
    }

    kev_core::store_conformance_tests!(Persistent(open));

    #[test]
    fn model_test_against_memory() {
        model::model_test(&Persistent(open), 40);
    }
}
