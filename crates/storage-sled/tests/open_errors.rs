//! Opening a store that kev must not use fails with a clear error: newer format, damaged
//! files, another holder, not a kev store.

// Helpers of tests: a panic is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use kev_core::testkit::store::events;
use kev_core::{Store, StoreError};
use kev_storage_sled::{DIR_NAME, SledOptions, SledStore};

fn filled(dir: &Path) {
    let s = SledStore::open(dir, SledOptions::default()).unwrap();
    s.append(&events(50), None).unwrap();
}

/// sled's flusher thread holds the file lock a little after a store is dropped; the
/// store waits for it on open (up to 2 s), and so does this raw open.
fn raw_open(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::open(dir.join(DIR_NAME)) {
            Err(sled::Error::Io(e))
                if e.to_string().contains("lock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

fn format_version(dir: &Path, set: Option<&str>) -> Option<Vec<u8>> {
    let db = raw_open(dir);
    let meta = db.open_tree("meta").unwrap();
    if let Some(v) = set {
        meta.insert("format_version", v.as_bytes()).unwrap();
        db.flush().unwrap();
    }
    meta.get("format_version").unwrap().map(|v| v.to_vec())
}

#[test]
fn newer_format_version_is_refused_and_kept() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    for version in ["3", "1.5", ""] {
        format_version(d.path(), Some(version));
        let err = SledStore::open(d.path(), SledOptions::default()).unwrap_err();
        match &err {
            StoreError::UnsupportedFormat {
                found, supported, ..
            } => assert_eq!((found.as_str(), *supported), (version, 2)),
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
        assert!(err.is_usage_error());
        assert!(err.to_string().contains(DIR_NAME), "{err}");
        assert_eq!(
            format_version(d.path(), None).as_deref(),
            Some(version.as_bytes()),
            "the version must stay"
        );
    }
    format_version(d.path(), Some("2"));
    let s = SledStore::open(d.path(), SledOptions::default()).unwrap();
    assert_eq!(s.stats().unwrap().events, 50, "nothing was lost meanwhile");
}

/// Format 1 (records without owner chains) is upgraded to 2 when opened.
#[test]
fn format_1_is_upgraded_in_place() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    format_version(d.path(), Some("1"));
    let s = SledStore::open(d.path(), SledOptions::default()).unwrap();
    assert_eq!(s.read_log(0, usize::MAX).unwrap().len(), 50);
    drop(s);
    assert_eq!(format_version(d.path(), None).as_deref(), Some(&b"2"[..]));
}

#[test]
fn a_database_that_is_not_a_store_is_refused_untouched() {
    let d = tempfile::tempdir().unwrap();
    {
        let db = raw_open(d.path());
        db.open_tree("other").unwrap().insert("k", "v").unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(d.path(), SledOptions::default()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { detail, .. } if detail.contains("not a kev store")),
        "{err:?}"
    );
    let db = raw_open(d.path());
    let mut names: Vec<_> = db.tree_names().into_iter().map(|n| n.to_vec()).collect();
    names.sort();
    assert_eq!(names, vec![b"__sled__default".to_vec(), b"other".to_vec()]);
}

#[test]
fn garbled_config_is_corrupt() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    let conf = d.path().join(DIR_NAME).join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    for b in &mut bytes {
        *b ^= 0x5a;
    }
    std::fs::write(&conf, &bytes).unwrap();
    let err = SledStore::open(d.path(), SledOptions::default()).unwrap_err();
    assert!(err.is_usage_error(), "{err:?}");
    assert!(
        std::fs::read(&conf).unwrap() == bytes,
        "conf must not change"
    );
}

#[test]
fn garbled_data_file_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    filled(d.path());
    let db = d.path().join(DIR_NAME).join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    for b in &mut bytes {
        *b ^= 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = SledStore::open(d.path(), SledOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn second_open_is_locked() {
    let d = tempfile::tempdir().unwrap();
    let first = SledStore::open(d.path(), SledOptions::default()).unwrap();
    let err = SledStore::open(d.path(), SledOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.is_usage_error());
    drop(first);
    SledStore::open(d.path(), SledOptions::default()).unwrap();
}

/// sled recovers from a cut log by keeping what is intact (its crash recovery, which kev
/// cannot tell from damage): the store either refuses to open or is a consistent state.
#[test]
fn truncated_data_file_is_refused_or_consistent() {
    let mut outcomes = Vec::new();
    for fraction in [2, 4, 16, 64] {
        let d = tempfile::tempdir().unwrap();
        filled(d.path());
        let db = d.path().join(DIR_NAME).join("db");
        let bytes = std::fs::read(&db).unwrap();
        std::fs::write(&db, &bytes[..bytes.len() / fraction]).unwrap();
        match SledStore::open(d.path(), SledOptions::default()) {
            Err(err) => {
                assert!(err.is_usage_error(), "cut to 1/{fraction}: {err:?}");
                outcomes.push(format!("1/{fraction}: {err}"));
            }
            Ok(s) => {
                let stats = s.stats().unwrap();
                let log = s.read_log(0, usize::MAX).unwrap();
                assert_eq!(log.len() as u64, stats.events, "counters match the log");
                let all = s.query(&kev_core::Query::default()).unwrap();
                assert_eq!(all.len(), log.len(), "indexes match the log");
                outcomes.push(format!("1/{fraction}: opened with {} events", stats.events));
            }
        }
    }
    eprintln!("{outcomes:#?}");
}

/// What `kev query` meets while `kev run` writes: another process holds the database.
#[test]
fn a_writer_in_another_process_locks_out_readers() {
    use std::io::BufRead;
    let d = tempfile::tempdir().unwrap();
    let mut writer = std::process::Command::new(env!("CARGO_BIN_EXE_kev-sled-crash-writer"))
        .arg(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(writer.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let second = SledStore::open(d.path(), SledOptions::default());
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert!(
        matches!(second, Err(StoreError::Locked { .. })),
        "{second:?}"
    );
}
