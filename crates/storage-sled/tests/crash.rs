//! Crash safety: `kev-sled-crash-writer` appends batches with checkpoints and is SIGKILLed
//! at a random moment, 24 times; after each kill the store reopens with every batch whole,
//! the checkpoint naming exactly the last stored batch, and no sequence number reused.

use std::path::Path;

use kev_core::testkit::store::{Persistent, crash};
use kev_storage_sled::{SledOptions, SledStore};

#[test]
fn sigkill_at_random_moments_loses_no_batch_and_reuses_no_seq() {
    let open = |dir: &Path| SledStore::open(dir, SledOptions::default()).unwrap();
    crash::sigkill_loop(
        Path::new(env!("CARGO_BIN_EXE_kev-sled-crash-writer")),
        &Persistent(open),
        24,
    );
}
