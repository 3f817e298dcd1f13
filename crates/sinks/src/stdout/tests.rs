//! Tests of the stdout sink: formats, the conformance suite on a captured writer, and a
//! real closed pipe.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kev_core::testkit::sink::{Fault, SinkHarness, check_sink, sample_events};
use kev_core::{Event, Sink};

use super::*;

/// A writer whose output the test reads back, and which fails on demand.
#[derive(Clone, Default)]
struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    fault: Arc<Mutex<Option<Fault>>>,
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match *self.fault.lock().unwrap() {
            Some(Fault::Retryable) => Err(std::io::Error::from(std::io::ErrorKind::StorageFull)),
            Some(Fault::Permanent) => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
            None => self.bytes.lock().unwrap().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct Harness {
    capture: Capture,
}

#[async_trait]
impl SinkHarness for Harness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        self.capture = Capture::default();
        Arc::new(StdoutSink::with_writer(
            &StdoutSinkConfig::default(),
            self.capture.clone(),
        ))
    }

    async fn received(&mut self) -> Vec<Event> {
        let bytes = self.capture.bytes.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn fail(&mut self, fault: Fault) -> bool {
        *self.capture.fault.lock().unwrap() = Some(fault);
        true
    }

    async fn heal(&mut self) {
        *self.capture.fault.lock().unwrap() = None;
    }
}

#[tokio::test]
async fn stdout_sink_passes_the_conformance_suite() {
    check_sink(&mut Harness::default()).await;
}

#[tokio::test]
async fn json_format_is_one_event_json_per_line() {
    let capture = Capture::default();
    let sink = StdoutSink::with_writer(&StdoutSinkConfig::default(), capture.clone());
    let batch = sample_events(1, 3);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let text = String::from_utf8(capture.bytes.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, stored) in lines.iter().zip(&batch) {
        assert_eq!(line, &serde_json::to_string(&stored.event).unwrap());
    }
}

#[tokio::test]
async fn text_format_prints_one_line_per_event_with_columns() {
    let capture = Capture::default();
    let config = StdoutSinkConfig {
        format: StdoutFormat::Text,
        name: None,
    };
    let sink = StdoutSink::with_writer(&config, capture.clone());
    let mut batch = sample_events(4, 2);
    batch[1].event.namespace.clear();
    batch[1].event.reason.clear();
    batch[1].event.last_seen = None;
    batch[1].event.first_seen = None;
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let text = String::from_utf8(capture.bytes.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "2026-05-28T20:26:44Z  ns-0  Warning  BackOff  pod/pod-4  event 4: \"quoted\" back\\slash\\nsecond line\\ttab — ünïcødé ✓",
            "-  -  Normal  -  pod/pod-5  event 5: \"quoted\" back\\slash\\nsecond line\\ttab — ünïcødé ✓",
        ]
    );
}

#[tokio::test]
async fn a_closed_pipe_is_a_permanent_error_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let sink = StdoutSink::with_writer(&StdoutSinkConfig::default(), writer);
    let error = sink
        .deliver(kev_core::Batch::new(&sample_events(1, 2)))
        .await
        .unwrap_err();
    assert!(!error.retryable, "{error}");
    assert!(error.message.contains("stdout is closed"), "{error}");
}

#[tokio::test]
async fn a_real_pipe_gets_every_line_flushed_per_batch() {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let sink = StdoutSink::with_writer(
        &StdoutSinkConfig::default(),
        std::io::BufWriter::with_capacity(1 << 20, writer),
    );
    // The BufWriter would hold this batch if the sink did not flush it.
    sink.deliver(kev_core::Batch::new(&sample_events(1, 2)))
        .await
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let n = reader.read(&mut buf).unwrap();
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn config_rejects_unknown_fields_and_formats() {
    let err = serde_norway::from_str::<StdoutSinkConfig>("format: yaml").unwrap_err();
    assert!(err.to_string().contains("unknown variant `yaml`"), "{err}");
    let err = serde_norway::from_str::<StdoutSinkConfig>("colour: true").unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    let bad = StdoutSinkConfig {
        name: Some("has space".into()),
        ..Default::default()
    };
    assert_eq!(bad.validate().unwrap_err().path, "name");
}
