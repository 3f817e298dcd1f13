//! Test helper for `tests/crash.rs`: appends batches with checkpoints to the store in the
//! directory given as first argument until it is killed, following the writer protocol of
//! `kev_core::testkit::store::crash`.
//!
//! Batch `i` holds `1 + i * 7 % 23` events `b<i>-<j>` whose message says `batch <i> of
//! <n>`, plus a repeat of the previous batch's last event (a duplicate to skip); its
//! checkpoint (source `crash`) is `i`. After a restart it resumes after the checkpoint.

use kev_core::{Checkpoint, Event, Store};
use kev_storage_redb::{RedbOptions, RedbStore};

fn batch_event(batch: u64, j: u64, n: u64) -> Event {
    Event {
        namespace: "crash".into(),
        uid: format!("b{batch}-{j}"),
        resource_version: "1".into(),
        message: format!("batch {batch} of {n}"),
        ..Default::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: kev-redb-crash-writer <dir>")?;
    let store = RedbStore::open(&dir, RedbOptions::default())?;
    let done: u64 = match store.checkpoint("crash")? {
        Some(cp) => cp.position.parse()?,
        None => 0,
    };
    println!("ready");
    for i in done + 1.. {
        let n = 1 + i * 7 % 23;
        let mut batch: Vec<Event> = (0..n).map(|j| batch_event(i, j, n)).collect();
        if i > 1 {
            let prev = 1 + (i - 1) * 7 % 23;
            batch.push(batch_event(i - 1, prev - 1, prev));
        }
        let checkpoint = Checkpoint {
            source: "crash".into(),
            position: i.to_string(),
        };
        store.append(&batch, Some(&checkpoint))?;
    }
    Ok(())
}
