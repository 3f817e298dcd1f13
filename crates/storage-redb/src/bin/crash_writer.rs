//! Test helper for `tests/crash.rs`: appends batches with checkpoints to the store in the
//! directory given as first argument until it is killed
//! (`kev_core::testkit::store::crash::writer_main`).

use kev_storage_redb::{RedbOptions, RedbStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kev_core::testkit::store::crash::writer_main(|dir| RedbStore::open(dir, RedbOptions::default()))
}
