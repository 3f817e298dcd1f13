//! Opening a store that kev must not use fails with a clear error and leaves the file as
//! it was: newer format, damaged file, another holder, not a kev store.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use redb::ReadableDatabase;

use kev_core::testkit::store::events;
use kev_core::{Store, StoreError};
use kev_storage_redb::{FILE_NAME, FORMAT_VERSION, RedbOptions, RedbStore};

fn filled(dir: &Path) {
    let s = RedbStore::open(dir, RedbOptions::default()).unwrap();
    s.append(&events(50), None).unwrap();
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(FILE_NAME)).unwrap()
}

fn set_meta(dir: &Path, key: &str, value: &[u8]) {
    let db = redb::Database::open(dir.join(FILE_NAME)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        let mut t = txn.open_table(meta).unwrap();
        t.insert(key, value).unwrap();
    }
    txn.commit().unwrap();
}

fn meta_value(dir: &Path, key: &str) -> Option<Vec<u8>> {
    let db = redb::Database::open(dir.join(FILE_NAME)).unwrap();
    let txn = db.begin_read().unwrap();
    let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let t = txn.open_table(meta).unwrap();
    t.get(key).unwrap().map(|v| v.value().to_vec())
}

fn set_format_version(dir: &Path, version: &str) {
    set_meta(dir, "format_version", version.as_bytes());
}

#[test]
fn a_bad_segment_size_is_corrupt() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    for bad in [&0u64.to_be_bytes()[..], b"1024"] {
        set_meta(d.path(), "segment_events", bad);
        let before = file_bytes(d.path());
        let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("segment_events"), "{err}");
        assert!(file_bytes(d.path()) == before, "the file must not change");
    }
}

#[test]
fn newer_or_older_format_version_is_refused_untouched() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    // "1" and "2": the formats before compressed chunks and before index segments; there
    // were no users, so no migration. ("3" is upgraded: `format_3_is_upgraded_in_place`.)
    for version in ["1", "2", "5", "1.5", ""] {
        set_format_version(d.path(), version);
        let before = file_bytes(d.path());
        let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
        match &err {
            StoreError::UnsupportedFormat {
                found, supported, ..
            } => {
                assert_eq!((found.as_str(), *supported), (version, FORMAT_VERSION));
            }
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
        assert!(err.is_usage_error());
        assert!(err.to_string().contains(FILE_NAME), "{err}");
        assert!(file_bytes(d.path()) == before, "the file must not change");
    }
    set_format_version(d.path(), &FORMAT_VERSION.to_string());
    let s = RedbStore::open(d.path(), RedbOptions::default()).unwrap();
    assert_eq!(s.stats().unwrap().events, 50);
}

/// A format 3 file (records without owner chains) opens read-only as it is and is
/// upgraded to format 4 by a read-write open; its events read back, new ones carry chains.
#[test]
fn format_3_is_upgraded_in_place() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    set_format_version(d.path(), "3");
    let before = file_bytes(d.path());
    let ro = RedbStore::open(d.path(), RedbOptions::read_only()).unwrap();
    assert_eq!(ro.stats().unwrap().events, 50);
    drop(ro);
    assert!(
        file_bytes(d.path()) == before,
        "a read-only open changes nothing"
    );
    let s = RedbStore::open(d.path(), RedbOptions::default()).unwrap();
    assert_eq!(s.read_log(0, usize::MAX).unwrap().len(), 50);
    drop(s);
    assert_eq!(
        meta_value(d.path(), "format_version").as_deref(),
        Some(FORMAT_VERSION.to_string().as_bytes())
    );
}

#[test]
fn truncated_file_is_corrupt() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    let file = d.path().join(FILE_NAME);
    let bytes = file_bytes(d.path());
    for keep in [bytes.len() / 2, 700, 10] {
        std::fs::write(&file, &bytes[..keep]).unwrap();
        let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "truncated to {keep}: {err:?}"
        );
        assert!(
            file_bytes(d.path()) == bytes[..keep],
            "the file must not change"
        );
    }
}

#[test]
fn empty_file_is_corrupt_not_reinitialized() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(FILE_NAME), b"").unwrap();
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(file_bytes(d.path()).is_empty());
}

#[test]
fn garbled_header_is_corrupt() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    let file = d.path().join(FILE_NAME);
    let mut bytes = file_bytes(d.path());
    for b in &mut bytes[..64] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, &bytes).unwrap();
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(file_bytes(d.path()) == bytes, "the file must not change");
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join(FILE_NAME),
        b"hello, this is not redb\n".repeat(100),
    )
    .unwrap();
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    let d = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(d.path().join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<u64, u64>::new("other"))
            .unwrap();
        txn.commit().unwrap();
    }
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { detail, .. } if detail.contains("not a kev store")),
        "{err:?}"
    );
}

#[test]
fn second_open_is_locked() {
    let d = tempfile::tempdir().unwrap();
    let first = RedbStore::open(d.path(), RedbOptions::default()).unwrap();
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.is_usage_error());
    let err = RedbStore::open(d.path(), RedbOptions::read_only()).unwrap_err();
    assert!(
        matches!(err, StoreError::Locked { .. }),
        "redb's shared lock conflicts with the writer's: {err:?}"
    );
    drop(first);
    RedbStore::open(d.path(), RedbOptions::default()).unwrap();
}

#[test]
fn read_only_readers_share_the_file_and_cannot_write() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    let a = RedbStore::open(d.path(), RedbOptions::read_only()).unwrap();
    let b = RedbStore::open(d.path(), RedbOptions::read_only()).unwrap();
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    assert_eq!(a.read_log(0, 100).unwrap().len(), 50);
    let err = a.append(&events(51), None).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = RedbStore::open(d.path(), RedbOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
}

#[test]
fn read_only_open_of_a_missing_store_creates_nothing() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    let err = RedbStore::open(&missing, RedbOptions::read_only()).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(!missing.exists());
}

/// What `kev query` meets while `kev run` writes: another process holds the file, so
/// neither a read-only nor a read-write open gets in.
#[test]
fn a_writer_in_another_process_locks_out_readers() {
    use std::io::BufRead;
    let d = tempfile::tempdir().unwrap();
    let mut writer = std::process::Command::new(env!("CARGO_BIN_EXE_kev-redb-crash-writer"))
        .arg(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(writer.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let read_only = RedbStore::open(d.path(), RedbOptions::read_only());
    let read_write = RedbStore::open(d.path(), RedbOptions::default());
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert!(
        matches!(read_only, Err(StoreError::Locked { .. })),
        "{read_only:?}"
    );
    assert!(
        matches!(read_write, Err(StoreError::Locked { .. })),
        "{read_write:?}"
    );
    RedbStore::open(d.path(), RedbOptions::default()).unwrap();
}
