//! Tests of the file sink: the conformance suite, rotation boundaries, the kept-files
//! limit, appending after reopen, files moved from outside, and a full device.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use kev_core::testkit::sink::{Fault, SinkHarness, check_sink, sample_events};
use kev_core::{Event, Sink, StoredEvent};

use super::*;

fn read_events(path: &Path) -> Vec<Event> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("reading {}: {e}", path.display()),
    }
}

fn uids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.uid.clone()).collect()
}

fn uids_of(batch: &[StoredEvent]) -> Vec<String> {
    batch.iter().map(|s| s.event.uid.clone()).collect()
}

/// Events whose JSON lines all have the same length, so that sizes are easy to reason about.
fn uniform_events(first: u64, n: usize) -> Vec<StoredEvent> {
    let mut batch = sample_events(first, n);
    for stored in &mut batch {
        let e = &mut stored.event;
        e.labels.clear();
        e.reason = "BackOff".into();
        e.message = "same length".into();
        e.namespace = "default".into();
        e.regarding.namespace = "default".into();
        e.r#type = kev_core::EventType::Warning;
        e.count = 1;
    }
    let len = line_len(&batch[0]);
    assert!(
        batch.iter().all(|s| line_len(s) == len),
        "lines differ in length"
    );
    batch
}

fn line_len(stored: &StoredEvent) -> u64 {
    serde_json::to_vec(&stored.event).unwrap().len() as u64 + 1
}

/// Every event the sink wrote, oldest file first.
fn all_events(path: &Path, max_files: u32) -> Vec<Event> {
    let mut events = Vec::new();
    for i in (1..=max_files).rev() {
        events.extend(read_events(&rotated_path(path, i)));
    }
    events.extend(read_events(path));
    events
}

struct Harness {
    dir: tempfile::TempDir,
    path: PathBuf,
    moved: Vec<PathBuf>,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kev.jsonl");
        Self {
            dir,
            path,
            moved: Vec::new(),
        }
    }
}

#[async_trait]
impl SinkHarness for Harness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        self.dir = tempfile::tempdir().unwrap();
        self.path = self.dir.path().join("kev.jsonl");
        self.moved.clear();
        let config = FileSinkConfig {
            max_files: 1,
            ..FileSinkConfig::new(&self.path)
        };
        Arc::new(config.build().unwrap())
    }

    async fn received(&mut self) -> Vec<Event> {
        let mut events: Vec<Event> = self.moved.iter().flat_map(|p| read_events(p)).collect();
        if self.path.is_file() {
            events.extend(all_events(&self.path, 1));
        }
        events
    }

    /// A retryable fault as an operator makes it: the file is moved away and a
    /// directory takes its name, so the sink cannot reopen the path.
    async fn fail(&mut self, fault: Fault) -> bool {
        if fault == Fault::Permanent {
            return false;
        }
        let moved = self
            .dir
            .path()
            .join(format!("moved-{}.jsonl", self.moved.len()));
        std::fs::rename(&self.path, &moved).unwrap();
        self.moved.push(moved);
        std::fs::create_dir(&self.path).unwrap();
        true
    }

    async fn heal(&mut self) {
        if self.path.is_dir() {
            std::fs::remove_dir(&self.path).unwrap();
        }
    }
}

#[tokio::test]
async fn file_sink_passes_the_conformance_suite() {
    check_sink(&mut Harness::new()).await;
}

#[tokio::test]
async fn rotates_exactly_when_the_next_line_would_pass_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let batch = uniform_events(10, 5);
    // Lines 1 and 2 fit exactly; line 3 would pass the limit by its full length.
    let two = line_len(&batch[0]) + line_len(&batch[1]);
    let config = FileSinkConfig {
        max_bytes: two,
        max_files: 5,
        ..FileSinkConfig::new(&path)
    };
    let sink = config.build().unwrap();
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    assert_eq!(
        uids(&read_events(&rotated_path(&path, 2))),
        uids_of(&batch[..2])
    );
    assert_eq!(
        std::fs::metadata(rotated_path(&path, 2)).unwrap().len(),
        two
    );
    assert_eq!(
        uids(&read_events(&rotated_path(&path, 1))),
        uids_of(&batch[2..4])
    );
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[4..]));
    assert!(!rotated_path(&path, 3).exists());
}

#[tokio::test]
async fn a_line_larger_than_max_bytes_gets_a_file_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let sink = FileSinkConfig {
        max_bytes: 10,
        max_files: 5,
        ..FileSinkConfig::new(&path)
    }
    .build()
    .unwrap();
    let batch = sample_events(1, 3);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    for (file, stored) in [rotated_path(&path, 2), rotated_path(&path, 1), path.clone()]
        .iter()
        .zip(&batch)
    {
        assert_eq!(
            uids(&read_events(file)),
            std::slice::from_ref(&stored.event.uid)
        );
    }
}

#[tokio::test]
async fn keeps_at_most_max_files_rotated_files_with_the_newest_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let batch = uniform_events(100, 20);
    let sink = FileSinkConfig {
        max_bytes: line_len(&batch[0]) * 2,
        max_files: 2,
        ..FileSinkConfig::new(&path)
    }
    .build()
    .unwrap();
    for chunk in batch.chunks(3) {
        sink.deliver(kev_core::Batch::new(chunk)).await.unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["kev.jsonl", "kev.jsonl.1", "kev.jsonl.2"]);
    // 2 lines per file, 3 files: the newest 6 events, oldest first.
    assert_eq!(uids(&all_events(&path, 2)), uids_of(&batch[14..]));
}

#[tokio::test]
async fn with_max_files_zero_rotation_starts_the_file_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let batch = uniform_events(11, 5);
    let sink = FileSinkConfig {
        max_bytes: line_len(&batch[0]) * 2,
        max_files: 0,
        ..FileSinkConfig::new(&path)
    }
    .build()
    .unwrap();
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[4..]));
}

#[tokio::test]
async fn reopening_appends_and_counts_the_existing_size_for_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let batch = uniform_events(1, 6);
    let config = FileSinkConfig {
        max_bytes: line_len(&batch[0]) * 4,
        max_files: 3,
        ..FileSinkConfig::new(&path)
    };
    config
        .build()
        .unwrap()
        .deliver(kev_core::Batch::new(&batch[..3]))
        .await
        .unwrap();
    // A new sink (a restart) on the same path appends, never truncates.
    let sink = config.build().unwrap();
    sink.deliver(kev_core::Batch::new(&batch[3..4]))
        .await
        .unwrap();
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[..4]));
    // The file is full: the next line rotates it.
    sink.deliver(kev_core::Batch::new(&batch[4..]))
        .await
        .unwrap();
    assert_eq!(
        uids(&read_events(&rotated_path(&path, 1))),
        uids_of(&batch[..4])
    );
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[4..]));
}

#[tokio::test]
async fn a_file_moved_away_from_outside_is_replaced_by_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let sink = FileSinkConfig::new(&path).build().unwrap();
    let batch = sample_events(1, 4);
    sink.deliver(kev_core::Batch::new(&batch[..2]))
        .await
        .unwrap();
    let moved = dir.path().join("kev.jsonl-20261123");
    std::fs::rename(&path, &moved).unwrap();
    sink.deliver(kev_core::Batch::new(&batch[2..]))
        .await
        .unwrap();
    assert_eq!(uids(&read_events(&moved)), uids_of(&batch[..2]));
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[2..]));
}

#[tokio::test]
async fn a_path_that_is_not_a_regular_file_is_refused_at_build() {
    let sink = FileSinkConfig::new("/dev/full").build();
    // /dev/full is not a regular file: refused at build, naming the field.
    let err = sink.unwrap_err();
    assert_eq!(err.path, "path");
    assert!(err.message.contains("not a regular file"), "{err}");
}

#[test]
fn config_is_validated_with_field_paths() {
    let c: FileSinkConfig = serde_norway::from_str("path: /tmp/x.jsonl").unwrap();
    assert_eq!((c.max_bytes, c.max_files), (100 * 1024 * 1024, 5));
    let err = serde_norway::from_str::<FileSinkConfig>("path: /tmp/x\nmax_size: 3").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `max_size`"),
        "{err}"
    );
    let zero = FileSinkConfig {
        max_bytes: 0,
        ..FileSinkConfig::new("/tmp/x")
    };
    assert_eq!(zero.validate().unwrap_err().path, "max_bytes");
    let many = FileSinkConfig {
        max_files: 5000,
        ..FileSinkConfig::new("/tmp/x")
    };
    assert_eq!(many.validate().unwrap_err().path, "max_files");
    assert_eq!(
        FileSinkConfig::new("/").validate().unwrap_err().path,
        "path"
    );
    let missing_dir = FileSinkConfig::new("/nonexistent-dir/kev.jsonl").build();
    let err = missing_dir.unwrap_err();
    assert_eq!(err.path, "path");
    assert!(err.message.contains("No such file or directory"), "{err}");
}

#[tokio::test]
async fn a_failed_rotation_reports_the_synced_prefix_and_the_retry_writes_the_rest_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kev.jsonl");
    let batch = uniform_events(1, 4);
    let sink = FileSinkConfig {
        max_bytes: line_len(&batch[0]) * 2,
        max_files: 1,
        ..FileSinkConfig::new(&path)
    }
    .build()
    .unwrap();
    sink.deliver(kev_core::Batch::new(&batch[..1]))
        .await
        .unwrap();
    // A directory where the rotated file must go: rotation fails.
    std::fs::create_dir(rotated_path(&path, 1)).unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&batch[1..]))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    // Event 2 filled the file and was synced before the rotation failed.
    assert_eq!(err.delivered, 1, "{err}");
    assert_eq!(uids(&read_events(&path)), uids_of(&batch[..2]));
    // Fixed: the route sends what was not acknowledged; nothing is written twice.
    std::fs::remove_dir(rotated_path(&path, 1)).unwrap();
    sink.deliver(kev_core::Batch::new(&batch[2..]))
        .await
        .unwrap();
    assert_eq!(uids(&all_events(&path, 1)), uids_of(&batch));
}

#[tokio::test]
async fn format_kee_writes_kees_enhanced_event_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kee.jsonl");
    let sink = FileSinkConfig {
        format: crate::kee::EventFormat::Kee,
        ..FileSinkConfig::new(&path)
    }
    .build()
    .unwrap();
    let batch = [crate::kee::tests::sample(), crate::kee::tests::sample()];
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![crate::kee::tests::expected(); 2]);
}
