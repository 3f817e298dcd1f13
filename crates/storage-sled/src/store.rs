//! [`SledStore`]: the [`Store`] on a sled 0.34 database, `<dir>/kev.sled`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use jiff::Timestamp;
use kev_core::store::codec::{decode_event, encode_event};
use kev_core::store::index::{Index, IndexKeys, ScanPlan, dedup_key, seq_key, seq_of};
use kev_core::store::retention::{Snapshot, delivered_through, take_oldest};
use kev_core::store::telemetry::{record_append, record_compaction, record_size};
use kev_core::store::{StoreOp, remembered};
use kev_core::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, Event, Order, Query, Retention, Store,
    StoreError, StoreStats, StoredEvent,
};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::error::{BACKEND, store_error};
use crate::trees::*;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The directory of the sled database inside the store directory.
pub const DIR_NAME: &str = "kev.sled";

/// How to open a [`SledStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledOptions {
    /// Flush (fsync) after every write. On by default.
    pub durable: bool,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            durable: true,
            cache_bytes: 64 << 20,
        }
    }
}

/// The [`Store`] on sled: one tree per table, batch and checkpoint written by one
/// multi-tree transaction. The layout is in the crate's README.md.
///
/// ```
/// use kev_core::{Event, Store};
/// use kev_storage_sled::{SledOptions, SledStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = SledStore::open(dir.path(), SledOptions::default()).unwrap();
/// let e = Event { uid: "u".into(), resource_version: "1".into(), ..Default::default() };
/// assert_eq!(store.append(&[e], None).unwrap().last_seq, 1);
/// ```
pub struct SledStore {
    db: sled::Db,
    trees: Trees,
    path: String,
    durable: bool,
    /// One writer at a time: compaction reads outside its transaction (sled transactions
    /// cannot iterate), so writes must not interleave.
    writer: Mutex<()>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .field("durable", &self.durable)
            .finish()
    }
}

impl SledStore {
    /// Opens the store in directory `dir` (created if missing). A newer format gives
    /// [`StoreError::UnsupportedFormat`], a damaged database [`StoreError::Corrupt`], a
    /// database another process (or another `SledStore` here) holds [`StoreError::Locked`].
    pub fn open(dir: impl AsRef<Path>, options: SledOptions) -> Result<Self> {
        let op = StoreOp::Open;
        let dir = dir.as_ref();
        let db_dir = dir.join(DIR_NAME);
        let path = db_dir.display().to_string();
        let config = |p: &Path| {
            sled::Config::new()
                .path(p)
                .cache_capacity(options.cache_bytes)
        };
        let db = if db_dir.exists() {
            open_existing(&path, || guarded(&path, || config(&db_dir).open()))?
        } else {
            create(dir, &db_dir, &path, config)?
        };
        check_format(&path, &db)?;
        let trees = Trees::open(&db).map_err(|e| store_error(&path, op, e))?;
        let store = Self {
            db,
            trees,
            path,
            durable: options.durable,
            writer: Mutex::new(()),
        };
        store.publish_size()?;
        Ok(store)
    }

    /// The database directory.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }

    fn err(&self, op: StoreOp, e: sled::Error) -> StoreError {
        store_error(&self.path, op, e)
    }

    fn lock(&self, op: StoreOp) -> Result<MutexGuard<'_, ()>> {
        self.writer.lock().map_err(|_| StoreError::Poisoned {
            op,
            backend: BACKEND,
        })
    }

    fn flush(&self, op: StoreOp) -> Result<()> {
        if self.durable {
            self.db.flush().map_err(|e| self.err(op, e))?;
        }
        Ok(())
    }

    fn txn_err(&self, op: StoreOp, e: TransactionError<StoreError>) -> StoreError {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.err(op, e),
        }
    }

    fn meta_u64(&self, op: StoreOp, key: &str) -> Result<u64> {
        let v = self.trees.meta.get(key).map_err(|e| self.err(op, e))?;
        read_u64(&self.path, key, v.as_deref())
    }

    fn publish_size(&self) -> Result<()> {
        let op = StoreOp::Read;
        let events = self.meta_u64(op, KEY_EVENTS)?;
        let bytes = self.meta_u64(op, KEY_BYTES)?;
        record_size(BACKEND, events, bytes);
        Ok(())
    }

    /// A `dead_letters` record; its key is its id.
    fn decode_letter(&self, id: u64, json: &[u8]) -> Result<DeadLetter> {
        let letter: DeadLetter = serde_json::from_slice(json).map_err(|e| StoreError::Decode {
            key: format!("{}: dead_letters/{id}", self.path),
            source: e.into(),
        })?;
        Ok(DeadLetter { id, ..letter })
    }

    /// The remembered keys this compaction forgets (as `Forget`), oldest first, counting in those of
    /// the events it is about to remove (`doomed`), and how many stay remembered.
    fn keys_to_forget(
        &self,
        retention: &Retention,
        doomed: &[(u64, Event)],
        now: Timestamp,
        max_remove: u64,
        out: &mut CompactOutcome,
    ) -> Result<(Vec<Forget>, u64)> {
        let op = StoreOp::Compact;
        let mut held = match self.trees.meta.get(KEY_REMEMBERED) {
            Ok(Some(v)) => read_u64(&self.path, KEY_REMEMBERED, Some(&v))?,
            Ok(None) => 0,
            Err(e) => return Err(self.err(op, e)),
        };
        let fresh = doomed
            .iter()
            .filter(|_| retention.remember_removed.is_some())
            .map(|(seq, event)| Ok((*seq, now.as_second(), dedup_key(event))));
        held += fresh.clone().count() as u64;
        let stored = self.trees.remembered.iter().map(|entry| {
            let (k, v) = entry.map_err(|e| self.err(op, e))?;
            let seq = seq_of(&k).unwrap_or(0);
            let (at, key) = remembered::decode(&v).ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("remembered/{seq} is shorter than 8 bytes"),
            })?;
            Ok((seq, at, key.to_vec()))
        });
        let mut forget = Vec::new();
        for entry in stored.chain(fresh) {
            let (seq, at, key) = entry?;
            if !remembered::may_forget(retention, at, held, now) {
                break;
            }
            if out.forgotten == max_remove {
                out.more = true;
                break;
            }
            forget.push((seq, key));
            held -= 1;
            out.forgotten += 1;
        }
        Ok((forget, held))
    }

    fn decode(&self, seq: u64, bytes: &[u8]) -> Result<Event> {
        decode_event(bytes).map_err(|e| StoreError::Decode {
            key: format!("{}: log/{seq}", self.path),
            source: e.into(),
        })
    }
}

/// A remembered key to forget: its `remembered` tree key (the seq) and the dedup key.
type Forget = (u64, Vec<u8>);

/// Creates and initializes the database under a temporary name, then renames it: the
/// store path only ever holds a complete, versioned kev store.
fn create(
    dir: &Path,
    db_dir: &Path,
    path: &str,
    config: impl Fn(&Path) -> sled::Config,
) -> Result<sled::Db> {
    let op = StoreOp::Open;
    let tmp = dir.join(format!("{DIR_NAME}.creating"));
    let io = |source| StoreError::Io {
        op,
        path: path.to_owned(),
        source,
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    {
        let db = guarded(path, || config(&tmp).open())?;
        let meta = db.open_tree(META).map_err(|e| store_error(path, op, e))?;
        meta.insert(KEY_FORMAT_VERSION, FORMAT_VERSION.to_string().as_bytes())
            .map_err(|e| store_error(path, op, e))?;
        for key in [
            KEY_LAST_SEQ,
            KEY_EVENTS,
            KEY_BYTES,
            KEY_LAST_DEAD_LETTER,
            KEY_REMEMBERED,
        ] {
            meta.insert(key, &0u64.to_be_bytes())
                .map_err(|e| store_error(path, op, e))?;
        }
        db.flush().map_err(|e| store_error(path, op, e))?;
    }
    std::fs::rename(&tmp, db_dir).map_err(io)?;
    // The handle above was just dropped: its flusher may still hold the lock.
    open_existing(path, || guarded(path, || config(db_dir).open()))
}

/// Runs a sled open, turning its errors and panics on damaged files into [`StoreError`]s.
fn guarded(path: &str, open: impl FnOnce() -> sled::Result<sled::Db>) -> Result<sled::Db> {
    let op = StoreOp::Open;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)) {
        Ok(result) => result.map_err(|e| store_error(path, op, e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "sled failed on the database".into());
            Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("sled cannot read the database: {detail}"),
            })
        }
    }
}

/// Refuses a database that is not a kev store or has another format version, before
/// any tree is created in it.
fn check_format(path: &str, db: &sled::Db) -> Result<()> {
    let op = StoreOp::Open;
    if !db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == META.as_bytes())
    {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "no meta tree: this sled database is not a kev store".into(),
        });
    }
    let meta = db.open_tree(META).map_err(|e| store_error(path, op, e))?;
    match meta
        .get(KEY_FORMAT_VERSION)
        .map_err(|e| store_error(path, op, e))?
    {
        Some(v) if v.as_ref() == FORMAT_VERSION.to_string().as_bytes() => Ok(()),
        // Format 1 → 2: only the version changes (format 1 records decode without chains).
        Some(v) if v.as_ref() == FORMAT_VERSION_UPGRADABLE.to_string().as_bytes() => {
            meta.insert(KEY_FORMAT_VERSION, FORMAT_VERSION.to_string().as_bytes())
                .map_err(|e| store_error(path, op, e))?;
            db.flush().map_err(|e| store_error(path, op, e))?;
            Ok(())
        }
        Some(v) => Err(StoreError::UnsupportedFormat {
            path: path.to_owned(),
            found: String::from_utf8_lossy(&v).into_owned(),
            supported: FORMAT_VERSION,
        }),
        None => Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("meta has no {KEY_FORMAT_VERSION}"),
        }),
    }
}

fn read_u64(path: &str, key: &str, v: Option<&[u8]>) -> Result<u64> {
    let bytes: [u8; 8] = v
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("meta key {key} is not an 8-byte number"),
        })?;
    Ok(u64::from_be_bytes(bytes))
}

type Abort = ConflictableTransactionError<StoreError>;

fn txn_u64(path: &str, meta: &TransactionalTree, key: &str) -> Result<u64, Abort> {
    let v = meta.get(key)?;
    read_u64(path, key, v.as_deref()).map_err(Abort::Abort)
}

fn insert_indexes(
    (time, namespace, object): (&TransactionalTree, &TransactionalTree, &TransactionalTree),
    keys: &IndexKeys,
) -> Result<(), Abort> {
    time.insert(keys.time.as_slice(), &[])?;
    namespace.insert(keys.namespace.as_slice(), &[])?;
    object.insert(keys.object.as_slice(), &[])?;
    for owner in &keys.owners {
        object.insert(owner.as_slice(), &[])?;
    }
    Ok(())
}

fn remove_indexes(
    (time, namespace, object): (&TransactionalTree, &TransactionalTree, &TransactionalTree),
    keys: &IndexKeys,
) -> Result<(), Abort> {
    time.remove(keys.time.as_slice())?;
    namespace.remove(keys.namespace.as_slice())?;
    object.remove(keys.object.as_slice())?;
    for owner in &keys.owners {
        object.remove(owner.as_slice())?;
    }
    Ok(())
}

impl Store for SledStore {
    fn append(&self, batch: &[Event], checkpoint: Option<&Checkpoint>) -> Result<AppendOutcome> {
        let op = StoreOp::Append;
        let started = Instant::now();
        let _writer = self.lock(op)?;
        // Encode once, outside the transaction closure (sled may run it more than once).
        let encoded: Vec<(Vec<u8>, Vec<u8>)> = batch
            .iter()
            .map(|e| {
                let mut buf = Vec::with_capacity(1024);
                encode_event(e, &mut buf);
                (dedup_key(e), buf)
            })
            .collect();
        let t = &self.trees;
        let p = self.path.as_str();
        let (out, events, bytes) = (
            &t.meta,
            &t.log,
            &t.dedup,
            &t.by_time,
            &t.by_namespace,
            &t.by_object,
            &t.checkpoints,
        )
            .transaction(|(meta, log, dedup, time, namespace, object, checkpoints)| {
                let mut out = AppendOutcome::default();
                let mut last_seq = txn_u64(p, meta, KEY_LAST_SEQ)?;
                let mut events = txn_u64(p, meta, KEY_EVENTS)?;
                let mut bytes = txn_u64(p, meta, KEY_BYTES)?;
                for (event, (key, record)) in batch.iter().zip(&encoded) {
                    if dedup.get(key.as_slice())?.is_some() {
                        out.duplicates += 1;
                        continue;
                    }
                    last_seq += 1;
                    log.insert(&seq_key(last_seq), record.as_slice())?;
                    dedup.insert(key.as_slice(), &seq_key(last_seq))?;
                    insert_indexes((time, namespace, object), &IndexKeys::of(event, last_seq))?;
                    events += 1;
                    bytes += record.len() as u64;
                    out.stored += 1;
                }
                if out.stored > 0 {
                    meta.insert(KEY_LAST_SEQ, &last_seq.to_be_bytes())?;
                    meta.insert(KEY_EVENTS, &events.to_be_bytes())?;
                    meta.insert(KEY_BYTES, &bytes.to_be_bytes())?;
                }
                if let Some(cp) = checkpoint {
                    checkpoints.insert(cp.source.as_bytes(), cp.position.as_bytes())?;
                }
                out.last_seq = last_seq;
                Ok((out, events, bytes))
            })
            .map_err(|e| self.txn_err(op, e))?;
        self.flush(op)?;
        record_append(BACKEND, started.elapsed());
        record_size(BACKEND, events, bytes);
        Ok(out)
    }

    fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>> {
        let op = StoreOp::Read;
        let v = self
            .trees
            .checkpoints
            .get(source)
            .map_err(|e| self.err(op, e))?;
        v.map(|p| {
            let position = String::from_utf8(p.to_vec()).map_err(|_| StoreError::Decode {
                key: format!("{}: checkpoints/{source}", self.path),
                source: "not UTF-8".into(),
            })?;
            Ok(Checkpoint {
                source: source.to_owned(),
                position,
            })
        })
        .transpose()
    }

    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let op = StoreOp::Read;
        let mut out = Vec::new();
        for entry in self.trees.log.range(seq_key(from)..).take(limit) {
            let (k, v) = entry.map_err(|e| self.err(op, e))?;
            let seq = seq_of(&k).unwrap_or(0);
            out.push(StoredEvent {
                seq,
                event: self.decode(seq, &v)?,
            });
        }
        Ok(out)
    }

    fn last_seq(&self) -> Result<u64> {
        let op = StoreOp::Read;
        self.meta_u64(op, KEY_LAST_SEQ)
    }

    fn cursor(&self, route: &str) -> Result<u64> {
        let op = StoreOp::Read;
        let v = self.trees.cursors.get(route).map_err(|e| self.err(op, e))?;
        match v {
            Some(v) => read_u64(&self.path, route, Some(&v)),
            None => Ok(0),
        }
    }

    fn commit_cursor(&self, route: &str, seq: u64) -> Result<()> {
        let op = StoreOp::Commit;
        self.trees
            .cursors
            .insert(route, &seq.to_be_bytes())
            .map_err(|e| self.err(op, e))?;
        self.flush(op)
    }

    fn cursors(&self) -> Result<Vec<(String, u64)>> {
        let op = StoreOp::Read;
        let mut out = Vec::new();
        for entry in self.trees.cursors.iter() {
            let (k, v) = entry.map_err(|e| self.err(op, e))?;
            let route = String::from_utf8_lossy(&k).into_owned();
            let seq = read_u64(&self.path, &route, Some(&v))?;
            out.push((route, seq));
        }
        Ok(out)
    }

    fn query(&self, query: &Query) -> Result<Vec<StoredEvent>> {
        let op = StoreOp::Read;
        let scan = ScanPlan::for_query(query);
        let tree = match scan.index {
            Index::Time => &self.trees.by_time,
            Index::Namespace => &self.trees.by_namespace,
            Index::Object => &self.trees.by_object,
        };
        let range = match &scan.end {
            Some(end) => tree.range(scan.start.as_slice()..end.as_slice()),
            None => tree.range(scan.start.as_slice()..),
        };
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            if scan.ordered && query.order == Order::NewestFirst {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
        let stop_at = if scan.ordered && !query.collapse {
            query.limit
        } else {
            None
        };
        let mut found = Vec::new();
        for entry in keys {
            if stop_at.is_some_and(|n| found.len() >= n) {
                break;
            }
            let (key, _) = entry.map_err(|e| self.err(op, e))?;
            if !scan.admits(&key) {
                continue;
            }
            let Some(seq) = seq_of(&key) else { continue };
            // An index entry whose event compaction removed after this scan began.
            let Some(bytes) = self
                .trees
                .log
                .get(seq_key(seq))
                .map_err(|e| self.err(op, e))?
            else {
                continue;
            };
            let event = self.decode(seq, &bytes)?;
            if query.matches(&event) {
                found.push(StoredEvent { seq, event });
            }
        }
        Ok(query.finish(found))
    }

    fn compact(
        &self,
        retention: &Retention,
        now: Timestamp,
        max_remove: u64,
    ) -> Result<CompactOutcome> {
        let op = StoreOp::Compact;
        let _writer = self.lock(op)?;
        let oldest_dead = self
            .dead_letters(None, usize::MAX)?
            .iter()
            .map(|l| l.seq)
            .min();
        let delivered = delivered_through(
            self.cursors()?.into_iter().map(|(_, s)| s).min(),
            oldest_dead,
        );
        let mut events = self.meta_u64(op, KEY_EVENTS)?;
        let mut bytes = self.meta_u64(op, KEY_BYTES)?;
        let mut out = CompactOutcome::default();
        // Decide outside the transaction (it cannot iterate), apply in one transaction.
        let mut doomed: Vec<(u64, Event)> = Vec::new();
        for entry in self.trees.log.iter() {
            let (k, v) = entry.map_err(|e| self.err(op, e))?;
            let seq = seq_of(&k).unwrap_or(0);
            let event = self.decode(seq, &v)?;
            let len = v.len() as u64;
            let snapshot = Snapshot {
                events,
                bytes,
                oldest_time: event.time(),
                oldest_len: len,
                oldest_delivered: seq <= delivered,
                now,
            };
            if !take_oldest(retention, &snapshot, max_remove, &mut out) {
                break;
            }
            events = events.saturating_sub(1);
            bytes = bytes.saturating_sub(len);
            doomed.push((seq, event));
        }
        let remember = retention.remember_removed.is_some();
        let (forget, held) = self.keys_to_forget(retention, &doomed, now, max_remove, &mut out)?;
        if doomed.is_empty() && forget.is_empty() {
            return Ok(out);
        }
        let t = &self.trees;
        (
            &t.meta,
            &t.log,
            &t.dedup,
            &t.remembered,
            &t.by_time,
            &t.by_namespace,
            &t.by_object,
        )
            .transaction(|(meta, log, dedup, held_keys, time, namespace, object)| {
                for (seq, event) in &doomed {
                    log.remove(&seq_key(*seq))?;
                    let key = dedup_key(event);
                    if remember {
                        held_keys.insert(&seq_key(*seq), remembered::encode(now, &key))?;
                    } else {
                        dedup.remove(key)?;
                    }
                    remove_indexes((time, namespace, object), &IndexKeys::of(event, *seq))?;
                }
                for (seq, key) in &forget {
                    held_keys.remove(&seq_key(*seq))?;
                    dedup.remove(key.as_slice())?;
                }
                meta.insert(KEY_EVENTS, &events.to_be_bytes())?;
                meta.insert(KEY_BYTES, &bytes.to_be_bytes())?;
                meta.insert(KEY_REMEMBERED, &held.to_be_bytes())?;
                Ok(())
            })
            .map_err(|e| self.txn_err(op, e))?;
        self.flush(op)?;
        record_compaction(BACKEND, &out);
        record_size(BACKEND, events, bytes);
        Ok(out)
    }

    fn stats(&self) -> Result<StoreStats> {
        let op = StoreOp::Read;
        let first_seq = match self.trees.log.first().map_err(|e| self.err(op, e))? {
            Some((k, _)) => seq_of(&k).unwrap_or(0),
            None => 0,
        };
        Ok(StoreStats {
            events: self.meta_u64(op, KEY_EVENTS)?,
            bytes: self.meta_u64(op, KEY_BYTES)?,
            first_seq,
            last_seq: self.meta_u64(op, KEY_LAST_SEQ)?,
        })
    }

    fn dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let op = StoreOp::Write;
        // The writer lock keeps the id ours between reading and writing it.
        let _writer = self.lock(op)?;
        let id = self.meta_u64(op, KEY_LAST_DEAD_LETTER)? + 1;
        let json = encode_letter(&DeadLetter {
            id,
            ..letter.clone()
        })?;
        (&self.trees.meta, &self.trees.dead_letters)
            .transaction(|(meta, dead)| {
                meta.insert(KEY_LAST_DEAD_LETTER, &id.to_be_bytes())?;
                dead.insert(&seq_key(id), json.as_slice())?;
                Ok(())
            })
            .map_err(|e| self.txn_err(op, e))?;
        self.flush(op)
    }

    fn dead_letters(&self, route: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>> {
        let op = StoreOp::Read;
        let mut out = Vec::new();
        for entry in self.trees.dead_letters.iter() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry.map_err(|e| self.err(op, e))?;
            let letter = self.decode_letter(seq_of(&k).unwrap_or(0), &v)?;
            if route.is_none_or(|r| r == letter.route) {
                out.push(letter);
            }
        }
        Ok(out)
    }

    fn remove_dead_letters(&self, ids: &[u64]) -> Result<Vec<DeadLetter>> {
        let op = StoreOp::Write;
        let _writer = self.lock(op)?;
        let removed = self
            .trees
            .dead_letters
            .transaction(|dead| {
                let mut removed = Vec::new();
                for &id in ids {
                    if let Some(json) = dead.remove(&seq_key(id))? {
                        removed.push((id, json));
                    }
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(removed)
            })
            .map_err(|e| self.txn_err(op, e))?;
        if removed.is_empty() {
            return Ok(Vec::new());
        }
        self.flush(op)?;
        removed
            .iter()
            .map(|(id, json)| self.decode_letter(*id, json))
            .collect()
    }

    fn update_dead_letter(&self, letter: &DeadLetter) -> Result<bool> {
        let op = StoreOp::Write;
        let _writer = self.lock(op)?;
        let key = seq_key(letter.id);
        let Some(json) = self
            .trees
            .dead_letters
            .get(key)
            .map_err(|e| self.err(op, e))?
        else {
            return Ok(false);
        };
        let held = self.decode_letter(letter.id, &json)?;
        let json = encode_letter(&DeadLetter {
            error: letter.error.clone(),
            at: letter.at,
            ..held
        })?;
        self.trees
            .dead_letters
            .insert(key, json)
            .map_err(|e| self.err(op, e))?;
        self.flush(op)?;
        Ok(true)
    }

    fn get_state(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let op = StoreOp::Read;
        let v = self
            .trees
            .state
            .get(state_key(namespace, key))
            .map_err(|e| self.err(op, e))?;
        Ok(v.map(|v| v.to_vec()))
    }

    fn put_state(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()> {
        let op = StoreOp::Write;
        self.trees
            .state
            .insert(state_key(namespace, key), value)
            .map_err(|e| self.err(op, e))?;
        self.flush(op)
    }
}

/// `len32(namespace) · namespace · key`: no namespace/key pair collides with another.
fn state_key(namespace: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + namespace.len() + key.len());
    k.extend_from_slice(&(namespace.len() as u32).to_be_bytes());
    k.extend_from_slice(namespace.as_bytes());
    k.extend_from_slice(key.as_bytes());
    k
}

/// How long a reopen waits for the file lock. sled's flusher thread lets go of the lock
/// shortly after the last handle is dropped, so closing and reopening in one process
/// briefly sees the lock still held; another process's lock outlasts this and is reported.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn open_existing(path: &str, open: impl Fn() -> Result<sled::Db>) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match open() {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(StoreError::Locked { .. }) => {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                });
            }
            other => return other,
        }
    }
}

/// A dead letter's record: its JSON (the id is also its key).
fn encode_letter(letter: &DeadLetter) -> Result<Vec<u8>> {
    serde_json::to_vec(letter).map_err(|source| StoreError::Encode {
        op: StoreOp::Write,
        what: "dead letter",
        source,
    })
}
