//! SledStore passes kev-core's store conformance suite and the model test.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use kev_core::testkit::store::{Persistent, model};
use kev_storage_sled::{SledOptions, SledStore};

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, SledOptions::default()).unwrap()
}

kev_core::store_conformance_tests!(Persistent(open));

#[test]
fn model_test_with_fsync() {
    model::model_test(&Persistent(open), 16);
}

#[test]
fn model_test_against_memory() {
    let open = |dir: &Path| {
        let opts = SledOptions {
            durable: false,
            ..SledOptions::default()
        };
        SledStore::open(dir, opts).unwrap()
    };
    model::model_test(&Persistent(open), 40);
}
