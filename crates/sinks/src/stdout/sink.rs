//! [`StdoutSink`]: writes each batch to standard output (or any writer) and flushes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kev_core::{Batch, Sink, SinkError};

use super::{StdoutFormat, StdoutSinkConfig, encode_batch};

type Writer = Box<dyn Write + Send>;

/// Prints events on standard output, one line each, and flushes once per batch.
///
/// A closed stdout (`kev run | head`) is a permanent failure: the events are
/// dead-lettered rather than retried forever; other write errors are retryable.
///
/// ```
/// use kev_sinks::stdout::{StdoutSink, StdoutSinkConfig};
/// let sink = StdoutSink::with_writer(&StdoutSinkConfig::default(), Vec::new());
/// assert_eq!(kev_core::Sink::name(&sink), "stdout");
/// ```
pub struct StdoutSink {
    name: String,
    format: StdoutFormat,
    // Writes are blocking (a full pipe blocks); they run on the blocking pool, and a
    // batch is written whole even if the route stops waiting for it.
    out: Arc<Mutex<Writer>>,
}

impl std::fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutSink")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl StdoutSink {
    /// A sink on this process's standard output.
    pub fn new(config: &StdoutSinkConfig) -> Self {
        Self::with_writer(config, std::io::stdout())
    }

    /// A sink on any writer: a pipe, a socket, a buffer in tests.
    pub fn with_writer(config: &StdoutSinkConfig, writer: impl Write + Send + 'static) -> Self {
        Self {
            name: config.name.clone().unwrap_or_else(|| "stdout".to_owned()),
            format: config.format,
            out: Arc::new(Mutex::new(Box::new(writer))),
        }
    }
}

#[async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        if batch.is_empty() {
            return Ok(());
        }
        let bytes = encode_batch(batch, self.format)?;
        let out = Arc::clone(&self.out);
        tokio::task::spawn_blocking(move || {
            let mut out = out
                .lock()
                .map_err(|_| SinkError::permanent("stdout writer lock poisoned"))?;
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(classify)
        })
        .await
        .map_err(|e| SinkError::retryable(format!("stdout write task failed: {e}")))?
    }
}

fn classify(error: std::io::Error) -> SinkError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::permanent(format!("stdout is closed: {error}"))
    } else {
        SinkError::retryable(format!("cannot write to stdout: {error}"))
    }
}
