//! The memory store passes the store conformance suite and agrees with itself as a model.

use std::path::Path;

use kev_core::MemoryStore;
use kev_core::testkit::store::{Volatile, model};

kev_core::store_conformance_tests!(Volatile(|_: &Path| MemoryStore::new()));

#[test]
fn model_test_runs_against_memory() {
    model::model_test(&Volatile(|_: &Path| MemoryStore::new()), 32);
}
