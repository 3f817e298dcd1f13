//! [`FileSink`]: appends JSON lines, rotates by size, fsyncs, then acknowledges.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kev_core::{Batch, Sink, SinkError};

use super::FileSinkConfig;
use super::encoder::{EncodedBatch, encode};
use super::rotate::{rotate, sync_dir};
use crate::kee::EventFormat;

/// Writes events as JSON lines to a file, rotating it by size.
///
/// A batch is acknowledged once its lines are written and `fsync`ed. A failed write is
/// cut back to the last complete batch, so the file never holds half a line; events
/// that were already in a rotated (and synced) file are reported as delivered. If the
/// file is moved or removed from outside (logrotate), the next batch reopens the path.
/// All IO errors are retryable: a full disk or a missing directory can be fixed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let sink = kev_sinks::file::FileSinkConfig::new(dir.path().join("kev.jsonl")).build().unwrap();
/// assert_eq!(kev_core::Sink::name(&sink), "file");
/// ```
#[derive(Debug)]
pub struct FileSink {
    name: String,
    format: EventFormat,
    // File IO is blocking; it runs on the blocking pool, and a batch is written whole
    // even if the route stops waiting for it.
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    /// `None` after a failure: reopened on the next batch.
    open: Option<OpenFile>,
}

#[derive(Debug)]
struct OpenFile {
    file: File,
    len: u64,
    identity: Identity,
}

impl FileSink {
    /// Opens (or creates) the file for appending.
    pub fn open(config: &FileSinkConfig) -> io::Result<Self> {
        let mut state = State {
            path: config.path.clone(),
            max_bytes: config.max_bytes,
            max_files: config.max_files,
            open: None,
        };
        state.ensure_open()?;
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "file".to_owned()),
            format: config.format,
            state: Arc::new(Mutex::new(state)),
        })
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let encoded = encode(&batch, self.format)?;
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || {
            let mut state = state
                .lock()
                .map_err(|_| SinkError::retryable("file sink lock poisoned"))?;
            state.write_batch(&encoded)
        })
        .await
        .map_err(|e| SinkError::retryable(format!("file write task failed: {e}")))?
    }
}

impl State {
    /// Opens the path unless the file already open is still the one at the path.
    fn ensure_open(&mut self) -> io::Result<()> {
        if let Some(open) = &self.open {
            match std::fs::metadata(&self.path) {
                Ok(meta) if Identity::of(&meta) == open.identity => return Ok(()),
                Ok(_) | Err(_) => {
                    tracing::info!(path = %self.path.display(), "file was moved or removed; reopening");
                    self.open = None;
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        sync_dir(&self.path)?;
        self.open = Some(OpenFile {
            file,
            len: meta.len(),
            identity: Identity::of(&meta),
        });
        Ok(())
    }

    fn write_batch(&mut self, batch: &EncodedBatch) -> Result<(), SinkError> {
        let mut synced = 0;
        let mut base = None;
        self.write_segments(batch, &mut synced, &mut base)
            .map_err(|e| {
                if let Some(base) = base {
                    self.cut_back(base);
                }
                SinkError::retryable(format!("cannot write {}: {e}", self.path.display()))
                    .with_delivered(synced)
            })
    }

    /// Writes the batch, rotating between lines. On failure, `synced` is the number of
    /// events already synced in a rotated file, and `base` the length to cut the open
    /// file back to.
    fn write_segments(
        &mut self,
        batch: &EncodedBatch,
        synced: &mut usize,
        base: &mut Option<u64>,
    ) -> io::Result<()> {
        self.ensure_open()?;
        let mut segment_start = 0;
        let mut len = self.open_len()?;
        for (i, &end) in batch.ends.iter().enumerate() {
            let line_start = if i == 0 { 0 } else { batch.ends[i - 1] };
            let line_len = (end - line_start) as u64;
            if len > 0 && len + line_len > self.max_bytes {
                *base = Some(self.open_len()?);
                self.append(&batch.bytes[segment_start..line_start])?;
                self.sync()?;
                *base = None;
                *synced = i;
                self.open = None;
                rotate(&self.path, self.max_files)?;
                self.ensure_open()?;
                segment_start = line_start;
                len = self.open_len()?;
            }
            len += line_len;
        }
        *base = Some(self.open_len()?);
        self.append(&batch.bytes[segment_start..])?;
        self.sync()
    }

    fn open_len(&self) -> io::Result<u64> {
        self.open
            .as_ref()
            .map(|o| o.len)
            .ok_or_else(|| io::Error::other("file is not open"))
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| io::Error::other("file is not open"))?;
        open.file.write_all(bytes)?;
        open.len += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        match &self.open {
            Some(open) => open.file.sync_data(),
            None => Err(io::Error::other("file is not open")),
        }
    }

    /// After a failure: cuts the open file back to `len`, so the next attempt does not
    /// append after half a line. If even that fails, the file is reopened next time.
    fn cut_back(&mut self, len: u64) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        match open.file.set_len(len) {
            Ok(()) => open.len = len,
            Err(_) => self.open = None,
        }
    }
}

/// Which file a path names (device and inode), to notice it was moved or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity(u64, u64);

impl Identity {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self(meta.dev(), meta.ino())
    }

    #[cfg(not(unix))]
    fn of(_meta: &std::fs::Metadata) -> Self {
        Self(0, 0)
    }
}
