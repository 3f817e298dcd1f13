//! Crash safety: `kev-redb-crash-writer` appends batches with checkpoints until SIGKILLed
//! at a random moment, 24 times; after each kill the store reopens with every batch whole,
//! the checkpoint naming exactly the last stored batch, and sequence numbers never reused.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kev_core::Store;
use kev_storage_redb::{RedbOptions, RedbStore};
use rand::Rng;

const KILLS: usize = 24;

/// Checks the store after a kill; returns (last batch, last seq).
/// `seen` maps every seq seen after earlier kills to its event: a seq must never come
/// back with another event.
fn check(dir: &Path, previous_last_seq: u64, seen: &mut BTreeMap<u64, String>) -> (u64, u64) {
    let store = RedbStore::open(dir, RedbOptions::default()).unwrap();
    let last_batch: u64 = store
        .checkpoint("crash")
        .unwrap()
        .map_or(0, |cp| cp.position.parse().unwrap());
    let log = store.read_log(0, usize::MAX).unwrap();
    let last_seq = store.last_seq().unwrap();
    assert!(last_seq >= previous_last_seq, "last_seq went back");
    let mut batches: BTreeMap<u64, (u64, Vec<u64>)> = BTreeMap::new();
    let mut keys = std::collections::HashSet::new();
    let mut prev_seq = 0;
    for stored in &log {
        assert!(stored.seq > prev_seq, "seqs must increase");
        assert!(stored.seq <= last_seq);
        prev_seq = stored.seq;
        let key = stored.event.idempotency_key().to_string();
        assert!(keys.insert(key.clone()), "duplicate stored");
        if let Some(before) = seen.insert(stored.seq, key.clone()) {
            assert_eq!(before, key, "seq {} reused", stored.seq);
        } else {
            assert!(
                stored.seq > previous_last_seq,
                "seq {} appeared below last_seq",
                stored.seq
            );
        }
        let words: Vec<&str> = stored.event.message.split(' ').collect();
        let (batch, n): (u64, u64) = (words[1].parse().unwrap(), words[3].parse().unwrap());
        let entry = batches.entry(batch).or_insert((n, Vec::new()));
        entry.1.push(stored.seq);
    }
    assert_eq!(
        batches.keys().copied().collect::<Vec<_>>(),
        (1..=last_batch).collect::<Vec<_>>(),
        "exactly the batches up to the checkpoint are stored"
    );
    for (batch, (n, seqs)) in &batches {
        assert_eq!(seqs.len() as u64, *n, "batch {batch} is not whole");
        assert_eq!(
            seqs[seqs.len() - 1] - seqs[0] + 1,
            *n,
            "batch {batch} not contiguous"
        );
    }
    (last_batch, last_seq)
}

#[test]
fn sigkill_at_random_moments_loses_no_batch_and_reuses_no_seq() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rng();
    let mut last = (0, 0);
    let mut progressed = 0;
    let mut seen = BTreeMap::new();
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kev-redb-crash-writer"))
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(5..120)));
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "round {round}: writer exited by itself ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let now = check(dir.path(), last.1, &mut seen);
        if now.0 > last.0 {
            progressed += 1;
        }
        last = now;
    }
    assert!(
        progressed >= KILLS / 2,
        "the writer made progress in only {progressed} of {KILLS} rounds"
    );
    assert!(last.0 > 10, "only {} batches written", last.0);
}
