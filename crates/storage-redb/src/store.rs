//! [`RedbStore`]: the [`Store`] on one redb file, `<dir>/kev.redb`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use kev_core::store::index::{Index, IndexKeys, ScanPlan, dedup_key, seq_of};
use kev_core::store::query::Matches;
use kev_core::store::retention::{Snapshot, delivered_through, take_oldest};
use kev_core::store::segments::{Merge, MergeOrder, Segment, SegmentBounds, segment_of};
use kev_core::store::telemetry::{record_append, record_compaction, record_size};
use kev_core::store::{StoreOp, remembered};
use kev_core::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, Event, Order, Query, Retention, Store,
    StoreError, StoreStats, StoredEvent,
};
use redb::{
    Database, Durability, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    Table, WriteTransaction,
};

use crate::chunk::{CHUNK_EVENTS, Chunk, encode_chunk};
use crate::error::{BACKEND, bad_meta, store_error};
use crate::tables::*;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The file name of the database inside the store directory.
pub const FILE_NAME: &str = "kev.redb";

/// Seqs per index segment of a new store: an append's index entries share the few leaves
/// of one or two segments, and a one-hour query of the bench's million-event store visits
/// about six.
pub const DEFAULT_SEGMENT_EVENTS: u64 = 1024;

/// How to open a [`RedbStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedbOptions {
    /// Commit every write with fsync (redb `Durability::Immediate`). On by default; off
    /// only for tests and benches that measure something else.
    pub durable: bool,
    /// redb's page cache, in bytes. 8 MiB by default: the daemon fills whatever it is
    /// given (its RSS grows by the full amount in a burst), and appends and indexed
    /// queries read few pages, the rest coming from the OS page cache.
    pub cache_bytes: usize,
    /// Open for reading only (`kev query` while no daemon runs); writes return an error.
    pub read_only: bool,
    /// Seqs per segment of the namespace and object indexes, for a new store (an
    /// existing one keeps the value it was created with). Smaller segments make appends
    /// cheaper and queries over long windows visit more segments.
    pub segment_events: u64,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            durable: true,
            cache_bytes: 8 << 20,
            read_only: false,
            segment_events: DEFAULT_SEGMENT_EVENTS,
        }
    }
}

impl RedbOptions {
    /// Read-only, with a 16 MiB page cache: `kev query` reads a few pages per result,
    /// and a full scan (`--grep` over everything) stays within ~40 MB of RSS.
    #[must_use]
    pub fn read_only() -> Self {
        Self {
            read_only: true,
            cache_bytes: 16 << 20,
            ..Self::default()
        }
    }
}

enum Handle {
    Write(Database),
    Read(ReadOnlyDatabase),
}

/// kev's default store: the event log, its indexes, checkpoints, cursors, dead letters
/// and state in one redb file. The layout is in the crate's README.md.
///
/// ```
/// use kev_core::{Event, Store};
/// use kev_storage_redb::{RedbOptions, RedbStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = RedbStore::open(dir.path(), RedbOptions::default()).unwrap();
/// let e = Event { uid: "u".into(), resource_version: "1".into(), ..Default::default() };
/// assert_eq!(store.append(&[e], None).unwrap().last_seq, 1);
/// ```
pub struct RedbStore {
    db: Handle,
    path: String,
    durable: bool,
    /// Seqs per index segment, from the store's meta.
    segment_events: u64,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("durable", &self.durable)
            .field("read_only", &matches!(self.db, Handle::Read(_)))
            .finish()
    }
}

impl RedbStore {
    /// Opens the store in directory `dir` (created with the file if missing, unless
    /// read-only). Never changes an existing file it cannot read: a newer format gives
    /// [`StoreError::UnsupportedFormat`], a damaged file [`StoreError::Corrupt`], a file
    /// another process (or another `RedbStore` here) holds [`StoreError::Locked`].
    pub fn open(dir: impl AsRef<Path>, options: RedbOptions) -> Result<Self> {
        let op = StoreOp::Open;
        let dir = dir.as_ref();
        let file = dir.join(FILE_NAME);
        let path = file.display().to_string();
        let mut builder = Database::builder();
        builder.set_cache_size(options.cache_bytes);
        let db = if file.exists() {
            open_existing(&builder, &file, &path, options.read_only)?
        } else if options.read_only {
            return Err(StoreError::Io {
                op,
                path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no store here"),
            });
        } else {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                op,
                path: dir.display().to_string(),
                source,
            })?;
            Handle::Write(create(&builder, dir, &file, &path, &options)?)
        };
        let mut store = Self {
            db,
            path,
            durable: options.durable,
            segment_events: 0,
        };
        let (segment_events, upgrade) = check_format(&store.path, &store.read(op)?)?;
        store.segment_events = segment_events;
        if upgrade && matches!(store.db, Handle::Write(_)) {
            store.upgrade_format()?;
        }
        store.publish_size()?;
        Ok(store)
    }

    /// The database file.
    pub fn file(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }

    fn err(&self, op: StoreOp, e: impl Into<redb::Error>) -> StoreError {
        store_error(&self.path, op, e)
    }

    /// A `dead_letters` record; its key is its id.
    fn decode_letter(&self, id: u64, json: &[u8]) -> Result<DeadLetter> {
        let letter: DeadLetter = serde_json::from_slice(json).map_err(|e| StoreError::Decode {
            key: format!("{}: dead_letters/{id}", self.path),
            source: e.into(),
        })?;
        Ok(DeadLetter { id, ..letter })
    }

    /// Format 3 → 4: the tables are the same and format 3 records still decode (without
    /// owner chains), so the version is all that changes.
    fn upgrade_format(&self) -> Result<()> {
        let op = StoreOp::Open;
        let txn = self.write(op)?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
            meta.insert(KEY_FORMAT_VERSION, FORMAT_VERSION.to_string().as_bytes())
                .map_err(|e| self.err(op, e))?;
        }
        txn.commit().map_err(|e| self.err(op, e))?;
        Ok(())
    }

    fn read(&self, op: StoreOp) -> Result<ReadTransaction> {
        match &self.db {
            Handle::Write(db) => db.begin_read(),
            Handle::Read(db) => db.begin_read(),
        }
        .map_err(|e| self.err(op, e))
    }

    fn write(&self, op: StoreOp) -> Result<WriteTransaction> {
        let Handle::Write(db) = &self.db else {
            return Err(StoreError::ReadOnly {
                op,
                path: self.path.clone(),
            });
        };
        let mut txn = db.begin_write().map_err(|e| self.err(op, e))?;
        let durability = if self.durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        txn.set_durability(durability)
            .map_err(|e| StoreError::Backend {
                op,
                backend: BACKEND,
                path: self.path.clone(),
                source: e.into(),
            })?;
        Ok(txn)
    }

    fn commit(&self, op: StoreOp, txn: WriteTransaction) -> Result<()> {
        txn.commit().map_err(|e| self.err(op, e))
    }

    fn publish_size(&self) -> Result<()> {
        let stats = self.stats()?;
        record_size(BACKEND, stats.events, stats.bytes);
        Ok(())
    }

    /// Names the chunk stored under `first` in decode errors.
    fn chunk_name(&self, first: u64) -> impl Fn() -> String + '_ {
        move || format!("{}: log/{first}", self.path)
    }

    /// The event with `seq` and its record length, through `cache`; `None` when no chunk
    /// holds it.
    fn fetch(
        &self,
        op: StoreOp,
        log: &impl ReadableTable<u64, &'static [u8]>,
        cache: &mut Option<Chunk>,
        seq: u64,
    ) -> Result<Option<(Event, u64)>> {
        if !cache.as_ref().is_some_and(|c| c.contains(seq)) {
            let found = log
                .range(..=seq)
                .map_err(|e| self.err(op, e))?
                .next_back()
                .transpose()
                .map_err(|e| self.err(op, e))?;
            let Some((first, bytes)) = found else {
                return Ok(None);
            };
            let first = first.value();
            *cache = Some(Chunk::decode(first, bytes.value(), self.chunk_name(first))?);
        }
        match cache
            .as_ref()
            .and_then(|c| c.event(seq, self.chunk_name(c.first)))
        {
            Some(found) => found.map(Some),
            None => Ok(None),
        }
    }

    /// Like [`Self::fetch`], for a seq an index or the meta counters say is stored.
    fn fetch_stored(
        &self,
        op: StoreOp,
        log: &impl ReadableTable<u64, &'static [u8]>,
        cache: &mut Option<Chunk>,
        seq: u64,
    ) -> Result<(Event, u64)> {
        self.fetch(op, log, cache, seq)?
            .ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("seq {seq} is indexed but in no log chunk"),
            })
    }

    /// The keys of the index range `scan` names, in result order when `scan.ordered`
    /// (descending when `newest_first`). A segmented index is read segment by segment,
    /// skipping the segments whose time bounds miss the window.
    fn scan_keys(
        &self,
        op: StoreOp,
        txn: &ReadTransaction,
        scan: &ScanPlan,
        newest_first: bool,
    ) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        let table = |def| txn.open_table(def).map_err(|e| self.err(op, e));
        let owned = move |range: redb::Range<'static, &'static [u8], ()>| {
            let keys = range.map(move |entry| {
                entry
                    .map(|(key, _)| key.value().to_vec())
                    .map_err(|e| self.err(op, e))
            });
            let keys: Box<dyn Iterator<Item = Result<Vec<u8>>>> = if newest_first {
                Box::new(keys.rev())
            } else {
                Box::new(keys)
            };
            keys
        };
        let index = match scan.index {
            Index::Time => {
                let table = table(BY_TIME)?;
                let range = match &scan.end {
                    Some(end) => table.range(scan.start.as_slice()..end.as_slice()),
                    None => table.range(scan.start.as_slice()..),
                }
                .map_err(|e| self.err(op, e))?;
                return Ok(owned(range));
            }
            Index::Namespace => table(BY_NAMESPACE)?,
            Index::Object => table(BY_OBJECT)?,
        };
        let order = match (scan.ordered, newest_first) {
            (false, _) => MergeOrder::Sequential,
            (true, true) => MergeOrder::NewestFirst,
            (true, false) => MergeOrder::OldestFirst,
        };
        let segments = self.segments(op, txn, scan)?;
        let scan = scan.clone();
        Ok(Box::new(Merge::new(segments, order, move |id| {
            let (start, end) = scan.in_segment(id);
            let range = index
                .range(start.as_slice()..end.as_slice())
                .map_err(|e| self.err(op, e))?;
            Ok(owned(range))
        })))
    }

    /// The index segments whose time bounds meet the window of `scan`.
    fn segments(
        &self,
        op: StoreOp,
        txn: &ReadTransaction,
        scan: &ScanPlan,
    ) -> Result<Vec<Segment>> {
        let table = txn.open_table(SEGMENTS).map_err(|e| self.err(op, e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.err(op, e))? {
            let (id, bounds) = entry.map_err(|e| self.err(op, e))?;
            let id = id.value();
            let bounds = decode_bounds(&self.path, id, bounds.value())?;
            if scan.may_hold(&bounds) {
                out.push(Segment { id, bounds });
            }
        }
        Ok(out)
    }
}

/// Opens an existing file. The format is checked through a read-only open first, which
/// writes nothing, so a file kev cannot use is left byte for byte as it was. A file that
/// was not closed cleanly cannot be opened read-only; then redb's own recovery runs on
/// the read-write open (it rebuilds the allocator state, not kev's data) and the format
/// is checked after it.
fn open_existing(
    builder: &redb::Builder,
    file: &Path,
    path: &str,
    read_only: bool,
) -> Result<Handle> {
    let op = StoreOp::Open;
    match guarded(path, || builder.open_read_only(file)) {
        Ok(db) => {
            check_format(
                path,
                &db.begin_read().map_err(|e| store_error(path, op, e))?,
            )?;
            if read_only {
                return Ok(Handle::Read(db));
            }
        }
        Err(StoreError::Corrupt { .. }) if !read_only && needs_recovery(builder, file) => {}
        Err(e) => return Err(e),
    }
    Ok(Handle::Write(guarded(path, || builder.open(file))?))
}

/// True when redb refuses a read-only open only because the file needs crash recovery.
fn needs_recovery(builder: &redb::Builder, file: &Path) -> bool {
    matches!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.open_read_only(file))),
        Ok(Err(redb::DatabaseError::RepairAborted))
    )
}

/// Runs a redb open, turning its errors and its panics on damaged files (redb 4 asserts
/// on a truncated file) into [`StoreError`]s.
fn guarded<T>(path: &str, open: impl FnOnce() -> Result<T, redb::DatabaseError>) -> Result<T> {
    let op = StoreOp::Open;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)) {
        Ok(result) => result.map_err(|e| store_error(path, op, e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "redb failed on the file".into());
            Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("redb cannot read the file: {detail}"),
            })
        }
    }
}

/// Refuses a file that is not a kev store, has another format version or a bad segment
/// size; returns the segment size (seqs per index segment) and whether the file has
/// [`FORMAT_VERSION_UPGRADABLE`].
fn check_format(path: &str, txn: &ReadTransaction) -> Result<(u64, bool)> {
    let op = StoreOp::Open;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: "no meta table: this redb file is not a kev store".into(),
            });
        }
        Err(e) => return Err(store_error(path, op, e)),
    };
    let found = meta
        .get(KEY_FORMAT_VERSION)
        .map_err(|e| store_error(path, op, e))?
        .map(|v| String::from_utf8_lossy(v.value()).into_owned());
    match found {
        Some(v)
            if v == FORMAT_VERSION.to_string() || v == FORMAT_VERSION_UPGRADABLE.to_string() =>
        {
            match get_u64(op, path, &meta, KEY_SEGMENT_EVENTS)? {
                0 => Err(bad_meta(path, KEY_SEGMENT_EVENTS)),
                n => Ok((n, v != FORMAT_VERSION.to_string())),
            }
        }
        Some(found) => Err(StoreError::UnsupportedFormat {
            path: path.to_owned(),
            found,
            supported: FORMAT_VERSION,
        }),
        None => Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("meta has no {KEY_FORMAT_VERSION}"),
        }),
    }
}

/// Creates and initializes the file under a temporary name, then renames it: the store
/// path only ever holds a complete, versioned kev store.
fn create(
    builder: &redb::Builder,
    dir: &Path,
    file: &Path,
    path: &str,
    options: &RedbOptions,
) -> Result<Database> {
    let op = StoreOp::Open;
    let tmp = dir.join(format!("{FILE_NAME}.creating"));
    let io = |source| StoreError::Io {
        op,
        path: path.to_owned(),
        source,
    };
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(io)?;
    }
    {
        let db = builder.create(&tmp).map_err(|e| store_error(path, op, e))?;
        let txn = db.begin_write().map_err(|e| store_error(path, op, e))?;
        init_tables(&txn, options.segment_events.max(1)).map_err(|e| store_error(path, op, e))?;
        txn.commit().map_err(|e| store_error(path, op, e))?;
    }
    std::fs::rename(&tmp, file).map_err(io)?;
    builder.open(file).map_err(|e| store_error(path, op, e))
}

fn init_tables(txn: &WriteTransaction, segment_events: u64) -> Result<(), redb::Error> {
    let mut meta = txn.open_table(META)?;
    meta.insert(KEY_FORMAT_VERSION, FORMAT_VERSION.to_string().as_bytes())?;
    meta.insert(KEY_SEGMENT_EVENTS, &segment_events.to_be_bytes()[..])?;
    for key in [
        KEY_LAST_SEQ,
        KEY_EVENTS,
        KEY_BYTES,
        KEY_LAST_DEAD_LETTER,
        KEY_REMEMBERED,
    ] {
        meta.insert(key, &0u64.to_be_bytes()[..])?;
    }
    meta.insert(KEY_FIRST_SEQ, &1u64.to_be_bytes()[..])?;
    txn.open_table(LOG)?;
    txn.open_table(DEDUP)?;
    txn.open_table(REMEMBERED)?;
    txn.open_table(BY_TIME)?;
    txn.open_table(BY_NAMESPACE)?;
    txn.open_table(BY_OBJECT)?;
    txn.open_table(SEGMENTS)?;
    txn.open_table(CHECKPOINTS)?;
    txn.open_table(CURSORS)?;
    txn.open_table(DEAD_LETTERS)?;
    txn.open_table(STATE)?;
    Ok(())
}

fn get_u64(
    op: StoreOp,
    path: &str,
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<u64> {
    let v = meta.get(key).map_err(|e| store_error(path, op, e))?;
    let Some(v) = v else {
        return Err(bad_meta(path, key));
    };
    let bytes: [u8; 8] = v.value().try_into().map_err(|_| bad_meta(path, key))?;
    Ok(u64::from_be_bytes(bytes))
}

fn put_u64(
    op: StoreOp,
    path: &str,
    meta: &mut Table<&str, &[u8]>,
    key: &str,
    v: u64,
) -> Result<()> {
    meta.insert(key, &v.to_be_bytes()[..])
        .map(|_| ())
        .map_err(|e| store_error(path, op, e))
}

fn decode_bounds(path: &str, segment: u64, bytes: &[u8]) -> Result<SegmentBounds> {
    SegmentBounds::from_bytes(bytes).ok_or_else(|| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("idx_segments/{segment} is not 24 bytes"),
    })
}

/// The index tables of one write transaction.
struct Indexes<'t> {
    time: Table<'t, &'static [u8], ()>,
    namespace: Table<'t, &'static [u8], ()>,
    object: Table<'t, &'static [u8], ()>,
    segments: Table<'t, u64, &'static [u8]>,
    segment_events: u64,
    /// Bounds of the segments this transaction indexed events in, written by
    /// [`Self::finish`].
    touched: Vec<(u64, SegmentBounds)>,
}

impl<'t> Indexes<'t> {
    fn open(txn: &'t WriteTransaction, segment_events: u64) -> Result<Self, redb::Error> {
        Ok(Self {
            time: txn.open_table(BY_TIME)?,
            namespace: txn.open_table(BY_NAMESPACE)?,
            object: txn.open_table(BY_OBJECT)?,
            segments: txn.open_table(SEGMENTS)?,
            segment_events,
            touched: Vec::new(),
        })
    }

    fn keys(&self, event: &Event, seq: u64) -> (IndexKeys, u64) {
        let segment = segment_of(seq, self.segment_events);
        (IndexKeys::in_segment(event, seq, segment), segment)
    }

    fn insert(&mut self, event: &Event, seq: u64) -> Result<(), redb::Error> {
        let (keys, segment) = self.keys(event, seq);
        self.time.insert(keys.time.as_slice(), ())?;
        self.namespace.insert(keys.namespace.as_slice(), ())?;
        self.object.insert(keys.object.as_slice(), ())?;
        for owner in &keys.owners {
            self.object.insert(owner.as_slice(), ())?;
        }
        let bounds = SegmentBounds::at(keys.time_key());
        match self.touched.last_mut() {
            Some((last, b)) if *last == segment => b.widen(&bounds),
            _ => self.touched.push((segment, bounds)),
        }
        Ok(())
    }

    fn remove(&mut self, event: &Event, seq: u64) -> Result<(), redb::Error> {
        let (keys, _) = self.keys(event, seq);
        self.time.remove(keys.time.as_slice())?;
        self.namespace.remove(keys.namespace.as_slice())?;
        self.object.remove(keys.object.as_slice())?;
        for owner in &keys.owners {
            self.object.remove(owner.as_slice())?;
        }
        Ok(())
    }

    /// Widens the stored bounds of the segments the inserts went to.
    fn finish(mut self, op: StoreOp, path: &str) -> Result<()> {
        for (segment, mut bounds) in std::mem::take(&mut self.touched) {
            let stored = self
                .segments
                .get(segment)
                .map_err(|e| store_error(path, op, e))?
                .map(|v| decode_bounds(path, segment, v.value()))
                .transpose()?;
            if let Some(stored) = stored {
                bounds.widen(&stored);
            }
            self.segments
                .insert(segment, &bounds.to_bytes()[..])
                .map_err(|e| store_error(path, op, e))?;
        }
        Ok(())
    }

    /// Forgets the segments before the one holding `first_seq` (compaction emptied them).
    fn drop_segments_before(&mut self, op: StoreOp, first_seq: u64, path: &str) -> Result<()> {
        let first = segment_of(first_seq, self.segment_events);
        self.segments
            .retain_in(..first, |_, _| false)
            .map_err(|e| store_error(path, op, e))
    }
}

impl Store for RedbStore {
    fn append(&self, batch: &[Event], checkpoint: Option<&Checkpoint>) -> Result<AppendOutcome> {
        let op = StoreOp::Append;
        let started = Instant::now();
        let txn = self.write(op)?;
        let p = self.path.as_str();
        let mut out = AppendOutcome::default();
        let (events, bytes) = {
            let mut meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
            let mut log = txn.open_table(LOG).map_err(|e| self.err(op, e))?;
            let mut dedup = txn.open_table(DEDUP).map_err(|e| self.err(op, e))?;
            let mut indexes =
                Indexes::open(&txn, self.segment_events).map_err(|e| self.err(op, e))?;
            let mut last_seq = get_u64(op, p, &meta, KEY_LAST_SEQ)?;
            let mut events = get_u64(op, p, &meta, KEY_EVENTS)?;
            let mut bytes = get_u64(op, p, &meta, KEY_BYTES)?;
            let mut stored = Vec::with_capacity(batch.len());
            for event in batch {
                let key = dedup_key(event);
                let seq = last_seq + 1;
                // One lookup: insert, and put the old seq back in the rare repeat.
                let old = dedup
                    .insert(key.as_slice(), seq)
                    .map_err(|e| self.err(op, e))?
                    .map(|old| old.value());
                if let Some(old) = old {
                    dedup
                        .insert(key.as_slice(), old)
                        .map_err(|e| self.err(op, e))?;
                    out.duplicates += 1;
                    continue;
                }
                last_seq = seq;
                indexes.insert(event, seq).map_err(|e| self.err(op, e))?;
                stored.push(event);
            }
            indexes.finish(op, p)?;
            let (mut raw, mut chunk) = (Vec::new(), Vec::new());
            let mut first = last_seq + 1 - stored.len() as u64;
            for part in stored.chunks(CHUNK_EVENTS) {
                let lengths = encode_chunk(part.iter().copied(), &mut raw, &mut chunk);
                log.insert(first, chunk.as_slice())
                    .map_err(|e| self.err(op, e))?;
                first += part.len() as u64;
                bytes += lengths.iter().sum::<u64>();
            }
            events += stored.len() as u64;
            out.stored = stored.len();
            if out.stored > 0 {
                put_u64(op, p, &mut meta, KEY_LAST_SEQ, last_seq)?;
                put_u64(op, p, &mut meta, KEY_EVENTS, events)?;
                put_u64(op, p, &mut meta, KEY_BYTES, bytes)?;
            }
            if let Some(cp) = checkpoint {
                let mut table = txn.open_table(CHECKPOINTS).map_err(|e| self.err(op, e))?;
                table
                    .insert(cp.source.as_str(), cp.position.as_str())
                    .map_err(|e| self.err(op, e))?;
            }
            out.last_seq = last_seq;
            (events, bytes)
        };
        self.commit(op, txn)?;
        record_append(BACKEND, started.elapsed());
        record_size(BACKEND, events, bytes);
        Ok(out)
    }

    fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let table = txn.open_table(CHECKPOINTS).map_err(|e| self.err(op, e))?;
        let position = table.get(source).map_err(|e| self.err(op, e))?;
        Ok(position.map(|p| Checkpoint {
            source: source.to_owned(),
            position: p.value().to_owned(),
        }))
    }

    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
        let log = txn.open_table(LOG).map_err(|e| self.err(op, e))?;
        let from = from.max(get_u64(op, &self.path, &meta, KEY_FIRST_SEQ)?);
        // The chunk holding `from`, then the following ones.
        let start = log
            .range(..=from)
            .map_err(|e| self.err(op, e))?
            .next_back()
            .transpose()
            .map_err(|e| self.err(op, e))?
            .map_or(from, |(k, _)| k.value());
        let mut out = Vec::new();
        for entry in log.range(start..).map_err(|e| self.err(op, e))? {
            if out.len() >= limit {
                break;
            }
            let (first, bytes) = entry.map_err(|e| self.err(op, e))?;
            let first = first.value();
            let chunk = Chunk::decode(first, bytes.value(), self.chunk_name(first))?;
            for seq in from.max(first)..chunk.end() {
                if out.len() >= limit {
                    break;
                }
                if let Some(found) = chunk.event(seq, self.chunk_name(first)) {
                    out.push(StoredEvent {
                        seq,
                        event: found?.0,
                    });
                }
            }
        }
        Ok(out)
    }

    fn last_seq(&self) -> Result<u64> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
        get_u64(op, &self.path, &meta, KEY_LAST_SEQ)
    }

    fn cursor(&self, route: &str) -> Result<u64> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let table = txn.open_table(CURSORS).map_err(|e| self.err(op, e))?;
        let seq = table.get(route).map_err(|e| self.err(op, e))?;
        Ok(seq.map_or(0, |s| s.value()))
    }

    fn commit_cursor(&self, route: &str, seq: u64) -> Result<()> {
        let op = StoreOp::Commit;
        let txn = self.write(op)?;
        {
            let mut table = txn.open_table(CURSORS).map_err(|e| self.err(op, e))?;
            table.insert(route, seq).map_err(|e| self.err(op, e))?;
        }
        self.commit(op, txn)
    }

    fn cursors(&self) -> Result<Vec<(String, u64)>> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let table = txn.open_table(CURSORS).map_err(|e| self.err(op, e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.err(op, e))? {
            let (route, seq) = entry.map_err(|e| self.err(op, e))?;
            out.push((route.value().to_owned(), seq.value()));
        }
        Ok(out)
    }

    fn query(&self, query: &Query) -> Result<Vec<StoredEvent>> {
        let mut found = Vec::new();
        self.query_each(query, &mut |event| {
            found.push(event);
            true
        })?;
        Ok(found)
    }

    fn query_each(&self, query: &Query, visit: &mut dyn FnMut(StoredEvent) -> bool) -> Result<()> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let log = txn.open_table(LOG).map_err(|e| self.err(op, e))?;
        let scan = ScanPlan::for_query(query);
        let newest_first = scan.ordered && query.order == Order::NewestFirst;
        let keys = self.scan_keys(op, &txn, &scan, newest_first)?;
        // In result order and not collapsed, each match is a result as soon as it is
        // found, up to the limit; otherwise the scan keeps only (time, seq) of the matches
        // and reads the result's events after, so memory follows the matches' count, not
        // their size.
        let streaming = scan.ordered && !query.collapse;
        let mut visited = 0;
        let mut matches = Matches::new(query);
        let mut cache = None;
        for key in keys {
            if streaming && query.limit.is_some_and(|n| visited >= n) {
                return Ok(());
            }
            let key = key?;
            if !scan.admits(&key) {
                continue;
            }
            let Some(seq) = seq_of(&key) else { continue };
            let (event, _) = self.fetch_stored(op, &log, &mut cache, seq)?;
            if !query.matches(&event) {
                continue;
            }
            if !streaming {
                matches.push(&event, seq);
                continue;
            }
            visited += 1;
            if !visit(StoredEvent { seq, event }) {
                return Ok(());
            }
        }
        for seq in matches.into_seqs() {
            let (event, _) = self.fetch_stored(op, &log, &mut cache, seq)?;
            if !visit(StoredEvent { seq, event }) {
                break;
            }
        }
        Ok(())
    }

    fn compact(
        &self,
        retention: &Retention,
        now: Timestamp,
        max_remove: u64,
    ) -> Result<CompactOutcome> {
        let op = StoreOp::Compact;
        let txn = self.write(op)?;
        let p = self.path.as_str();
        let mut out = CompactOutcome::default();
        let (events, bytes) = {
            let mut meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
            let mut log = txn.open_table(LOG).map_err(|e| self.err(op, e))?;
            let mut dedup = txn.open_table(DEDUP).map_err(|e| self.err(op, e))?;
            let mut indexes =
                Indexes::open(&txn, self.segment_events).map_err(|e| self.err(op, e))?;
            let delivered = {
                let cursors = txn.open_table(CURSORS).map_err(|e| self.err(op, e))?;
                let mut min = None::<u64>;
                for entry in cursors.iter().map_err(|e| self.err(op, e))? {
                    let seq = entry.map_err(|e| self.err(op, e))?.1.value();
                    min = Some(min.map_or(seq, |m| m.min(seq)));
                }
                let dead = txn.open_table(DEAD_LETTERS).map_err(|e| self.err(op, e))?;
                let mut oldest_dead = None::<u64>;
                for entry in dead.iter().map_err(|e| self.err(op, e))? {
                    let (id, json) = entry.map_err(|e| self.err(op, e))?;
                    let seq = self.decode_letter(id.value(), json.value())?.seq;
                    oldest_dead = Some(oldest_dead.map_or(seq, |m| m.min(seq)));
                }
                delivered_through(min, oldest_dead)
            };
            let mut events = get_u64(op, p, &meta, KEY_EVENTS)?;
            let mut bytes = get_u64(op, p, &meta, KEY_BYTES)?;
            let mut first = get_u64(op, p, &meta, KEY_FIRST_SEQ)?;
            let mut held_keys = txn.open_table(REMEMBERED).map_err(|e| self.err(op, e))?;
            // Files from before `remembered` lack the counter: none held.
            let mut held = match meta.get(KEY_REMEMBERED).map_err(|e| self.err(op, e))? {
                Some(_) => get_u64(op, p, &meta, KEY_REMEMBERED)?,
                None => 0,
            };
            let mut cache = None;
            while events > 0 {
                let seq = first;
                let (event, len) = self.fetch_stored(op, &log, &mut cache, seq)?;
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
                // A chunk goes with its last event; before that `first_seq` skips the
                // removed ones.
                if let Some(chunk) = cache.as_ref().filter(|c| c.end() == seq + 1) {
                    log.remove(chunk.first).map_err(|e| self.err(op, e))?;
                }
                let key = dedup_key(&event);
                if retention.remember_removed.is_some() {
                    let record = remembered::encode(now, &key);
                    held_keys
                        .insert(seq, record.as_slice())
                        .map_err(|e| self.err(op, e))?;
                    held += 1;
                } else {
                    dedup.remove(key.as_slice()).map_err(|e| self.err(op, e))?;
                }
                indexes.remove(&event, seq).map_err(|e| self.err(op, e))?;
                first = seq + 1;
                events = events.saturating_sub(1);
                bytes = bytes.saturating_sub(len);
            }
            loop {
                let Some((seq, record)) = held_keys
                    .first()
                    .map_err(|e| self.err(op, e))?
                    .map(|(k, v)| (k.value(), v.value().to_vec()))
                else {
                    break;
                };
                let (removed_at, key) =
                    remembered::decode(&record).ok_or_else(|| StoreError::Corrupt {
                        path: p.to_owned(),
                        detail: format!("remembered/{seq} is shorter than 8 bytes"),
                    })?;
                if !remembered::may_forget(retention, removed_at, held, now) {
                    break;
                }
                if out.forgotten == max_remove {
                    out.more = true;
                    break;
                }
                dedup.remove(key).map_err(|e| self.err(op, e))?;
                held_keys.remove(seq).map_err(|e| self.err(op, e))?;
                held = held.saturating_sub(1);
                out.forgotten += 1;
            }
            if out.removed > 0 {
                indexes.drop_segments_before(op, first, p)?;
                put_u64(op, p, &mut meta, KEY_FIRST_SEQ, first)?;
                put_u64(op, p, &mut meta, KEY_EVENTS, events)?;
                put_u64(op, p, &mut meta, KEY_BYTES, bytes)?;
            }
            if out.removed > 0 || out.forgotten > 0 {
                put_u64(op, p, &mut meta, KEY_REMEMBERED, held)?;
            }
            (events, bytes)
        };
        if out.removed == 0 && out.forgotten == 0 {
            txn.abort().map_err(|e| self.err(op, e))?;
            return Ok(out);
        }
        self.commit(op, txn)?;
        record_compaction(BACKEND, &out);
        record_size(BACKEND, events, bytes);
        Ok(out)
    }

    fn stats(&self) -> Result<StoreStats> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
        let events = get_u64(op, &self.path, &meta, KEY_EVENTS)?;
        let first_seq = if events == 0 {
            0
        } else {
            get_u64(op, &self.path, &meta, KEY_FIRST_SEQ)?
        };
        Ok(StoreStats {
            events,
            bytes: get_u64(op, &self.path, &meta, KEY_BYTES)?,
            first_seq,
            last_seq: get_u64(op, &self.path, &meta, KEY_LAST_SEQ)?,
        })
    }

    fn dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let op = StoreOp::Write;
        let txn = self.write(op)?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.err(op, e))?;
            let id = get_u64(op, &self.path, &meta, KEY_LAST_DEAD_LETTER)? + 1;
            put_u64(op, &self.path, &mut meta, KEY_LAST_DEAD_LETTER, id)?;
            let json = encode_letter(&DeadLetter {
                id,
                ..letter.clone()
            })?;
            let mut table = txn.open_table(DEAD_LETTERS).map_err(|e| self.err(op, e))?;
            table
                .insert(id, json.as_slice())
                .map_err(|e| self.err(op, e))?;
        }
        self.commit(op, txn)
    }

    fn dead_letters(&self, route: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let table = txn.open_table(DEAD_LETTERS).map_err(|e| self.err(op, e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.err(op, e))? {
            if out.len() >= limit {
                break;
            }
            let (id, json) = entry.map_err(|e| self.err(op, e))?;
            let letter = self.decode_letter(id.value(), json.value())?;
            if route.is_none_or(|r| r == letter.route) {
                out.push(letter);
            }
        }
        Ok(out)
    }

    fn remove_dead_letters(&self, ids: &[u64]) -> Result<Vec<DeadLetter>> {
        let op = StoreOp::Write;
        let txn = self.write(op)?;
        let mut removed = Vec::new();
        {
            let mut table = txn.open_table(DEAD_LETTERS).map_err(|e| self.err(op, e))?;
            for &id in ids {
                if let Some(json) = table.remove(id).map_err(|e| self.err(op, e))? {
                    removed.push(self.decode_letter(id, json.value())?);
                }
            }
        }
        if removed.is_empty() {
            txn.abort().map_err(|e| self.err(op, e))?;
            return Ok(removed);
        }
        self.commit(op, txn)?;
        Ok(removed)
    }

    fn update_dead_letter(&self, letter: &DeadLetter) -> Result<bool> {
        let op = StoreOp::Write;
        let txn = self.write(op)?;
        let found = {
            let mut table = txn.open_table(DEAD_LETTERS).map_err(|e| self.err(op, e))?;
            let held = match table.get(letter.id).map_err(|e| self.err(op, e))? {
                Some(json) => Some(self.decode_letter(letter.id, json.value())?),
                None => None,
            };
            match held {
                Some(held) => {
                    let json = encode_letter(&DeadLetter {
                        error: letter.error.clone(),
                        at: letter.at,
                        ..held
                    })?;
                    table
                        .insert(letter.id, json.as_slice())
                        .map_err(|e| self.err(op, e))?;
                    true
                }
                None => false,
            }
        };
        if !found {
            txn.abort().map_err(|e| self.err(op, e))?;
            return Ok(false);
        }
        self.commit(op, txn)?;
        Ok(true)
    }

    fn get_state(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let op = StoreOp::Read;
        let txn = self.read(op)?;
        let table = txn.open_table(STATE).map_err(|e| self.err(op, e))?;
        let v = table.get((namespace, key)).map_err(|e| self.err(op, e))?;
        Ok(v.map(|v| v.value().to_vec()))
    }

    fn put_state(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()> {
        let op = StoreOp::Write;
        let txn = self.write(op)?;
        {
            let mut table = txn.open_table(STATE).map_err(|e| self.err(op, e))?;
            table
                .insert((namespace, key), value)
                .map_err(|e| self.err(op, e))?;
        }
        self.commit(op, txn)
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
