//! RedbStore reports size, append latency, compaction and evictions under kev's names.

use kev_core::testkit::store::{Persistent, metrics};
use kev_storage_redb::{RedbOptions, RedbStore};

#[test]
fn store_metrics_follow_appends_and_compaction() {
    let open = |dir: &std::path::Path| RedbStore::open(dir, RedbOptions::default()).unwrap();
    metrics::metrics_follow_appends_and_compaction(&Persistent(open), "redb");
}
