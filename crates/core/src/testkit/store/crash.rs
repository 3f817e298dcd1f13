//! [`sigkill_loop`]: the crash test every persistent backend runs against its own
//! crash-writer binary.
//!
//! The writer protocol: `writer <dir>` opens the store in `<dir>`, prints `ready` on
//! stdout, then appends batches `i` = (checkpoint of source `crash`) + 1, + 2, … until
//! killed. Batch `i` holds `n ≥ 1` events of uid `b<i>-<j>` (j < n) whose message is
//! `batch <i> of <n>` — it may also repeat an event of an earlier batch, which the store
//! must skip as a duplicate — and is appended with checkpoint `crash` = `i`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StoreFactory;
use crate::store::Store;

/// The checkpoint source the writer uses.
pub const SOURCE: &str = "crash";

/// A small xorshift generator, seeded from the clock: random kill moments, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Checks the store after a kill; `seen` maps every seq seen after earlier kills to its
/// event key, which must never change. Returns (last batch, last seq).
fn check<S: Store>(
    store: &S,
    previous_last_seq: u64,
    seen: &mut BTreeMap<u64, String>,
) -> (u64, u64) {
    let last_batch: u64 = store
        .checkpoint(SOURCE)
        .unwrap()
        .map_or(0, |cp| cp.position.parse().unwrap());
    let log = store.read_log(0, usize::MAX).unwrap();
    let last_seq = store.last_seq().unwrap();
    assert!(last_seq >= previous_last_seq, "last_seq went back");
    let mut batches: BTreeMap<u64, (u64, Vec<u64>)> = BTreeMap::new();
    let mut keys = HashSet::new();
    let mut prev_seq = 0;
    for stored in &log {
        assert!(stored.seq > prev_seq, "seqs must increase");
        assert!(stored.seq <= last_seq, "seq above last_seq");
        prev_seq = stored.seq;
        let key = stored.event.idempotency_key().to_string();
        assert!(keys.insert(key.clone()), "{key} stored twice");
        match seen.insert(stored.seq, key.clone()) {
            Some(before) => assert_eq!(before, key, "seq {} reused", stored.seq),
            None => assert!(
                stored.seq > previous_last_seq,
                "seq {} appeared below the last seq of the previous round",
                stored.seq
            ),
        }
        let words: Vec<&str> = stored.event.message.split(' ').collect();
        let (batch, n): (u64, u64) = (words[1].parse().unwrap(), words[3].parse().unwrap());
        batches
            .entry(batch)
            .or_insert((n, Vec::new()))
            .1
            .push(stored.seq);
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
            "batch {batch} is not contiguous"
        );
    }
    (last_batch, last_seq)
}

/// Starts `writer` on a fresh directory `kills` times and SIGKILLs it at a random moment
/// (mostly 0–60 ms into its writing, every fourth time while it may still be opening);
/// after each kill reopens the store with `factory` and checks that every stored batch is
/// whole, the checkpoint names exactly the last stored batch, and no seq was reused.
pub fn sigkill_loop<F: StoreFactory>(writer: &Path, factory: &F, kills: usize) {
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = Rng(seed);
    let mut last = (0, 0);
    let mut seen = BTreeMap::new();
    let mut writing_kills = 0;
    for round in 0..kills {
        let mut child = Command::new(writer)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if round % 4 == 3 {
            std::thread::sleep(Duration::from_millis(rng.below(30)));
        } else {
            let mut line = String::new();
            let stdout = child.stdout.take().unwrap();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            if line.trim() != "ready" {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "round {round}: writer did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            writing_kills += 1;
            std::thread::sleep(Duration::from_millis(rng.below(60)));
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "round {round}: writer exited by itself ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let store = factory.open(dir.path());
        last = check(&store, last.1, &mut seen);
    }
    assert!(writing_kills * 2 >= kills, "too few kills while writing");
    assert!(last.0 > 0, "the writer stored no batch in {kills} rounds");
}

/// An event of writer batch `batch` (of `n` events).
fn batch_event(batch: u64, j: u64, n: u64) -> crate::Event {
    crate::Event {
        namespace: "crash".into(),
        uid: format!("b{batch}-{j}"),
        resource_version: "1".into(),
        message: format!("batch {batch} of {n}"),
        ..Default::default()
    }
}

/// The `main` of a backend's crash-writer binary: follows the writer protocol above with
/// the store `open` gives for the directory named by the first argument.
///
/// Batch `i` holds `1 + i * 7 % 23` events plus a repeat of the previous batch's last
/// event (a duplicate to skip); after a restart it resumes after the checkpoint.
pub fn writer_main<S: Store>(
    open: impl Fn(&Path) -> Result<S, crate::StoreError>,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: <crash-writer> <dir>")?;
    let store = open(Path::new(&dir))?;
    let done: u64 = match store.checkpoint(SOURCE)? {
        Some(cp) => cp.position.parse()?,
        None => 0,
    };
    println!("ready");
    for i in done + 1.. {
        let n = 1 + i * 7 % 23;
        let mut batch: Vec<_> = (0..n).map(|j| batch_event(i, j, n)).collect();
        if i > 1 {
            let prev = 1 + (i - 1) * 7 % 23;
            batch.push(batch_event(i - 1, prev - 1, prev));
        }
        let checkpoint = crate::Checkpoint {
            source: SOURCE.into(),
            position: i.to_string(),
        };
        store.append(&batch, Some(&checkpoint))?;
    }
    Ok(())
}
