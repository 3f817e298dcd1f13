//! Crash safety: `kev-redb-crash-writer` appends batches with checkpoints and is SIGKILLed
//! at a random moment, 24 times; after each kill the store reopens with every batch whole,
//! the checkpoint naming exactly the last stored batch, and no sequence number reused.

use std::path::Path;

use kev_core::testkit::store::{Persistent, crash};
use kev_storage_redb::{RedbOptions, RedbStore};

#[test]
fn sigkill_at_random_moments_loses_no_batch_and_reuses_no_seq() {
    let open = |dir: &Path| RedbStore::open(dir, RedbOptions::default()).unwrap();
    crash::sigkill_loop(
        Path::new(env!("CARGO_BIN_EXE_kev-redb-crash-writer")),
        &Persistent(open),
        24,
    );
}
