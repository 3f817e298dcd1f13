//! SledStore reports size, append latency, compaction and evictions under kev's names.

use kev_core::testkit::store::{Persistent, metrics};
use kev_storage_sled::{SledOptions, SledStore};

#[test]
fn store_metrics_follow_appends_and_compaction() {
    let open = |dir: &std::path::Path| SledStore::open(dir, SledOptions::default()).unwrap();
    metrics::metrics_follow_appends_and_compaction(&Persistent(open), "sled");
}
