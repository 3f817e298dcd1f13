//! SledStore benches: kev-core's shared store benches (`testkit::store::bench`): durable
//! append in batches of 500; one-namespace/one-hour query (plain and collapsed), reopen and
//! disk bytes per event on a store of `KEV_BENCH_EVENTS` (default 1,000,000) events.

// The allocator the `kev` binary runs with, so the figures are the daemon's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use kev_core::testkit::store::bench::{Backend, store_benches};
use kev_storage_sled::{SledOptions, SledStore};

fn open(dir: &std::path::Path, durable: bool) -> Result<SledStore, kev_core::StoreError> {
    SledStore::open(
        dir,
        SledOptions {
            durable,
            ..SledOptions::default()
        },
    )
}

fn benches(c: &mut Criterion) {
    store_benches(c, &Backend { name: "sled", open });
}

criterion_group!(store, benches);
criterion_main!(store);
