//! A source fed from a channel and a pass-through normalizer, to drive kev-core's real
//! pipeline and route runner from a test.

// Test support: a panic here is a failed test, with its message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use kev_core::testkit::pipeline::PassThrough;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kev_core::source::{EventSource, RawEvent, SourceError, SourceItem};
use kev_core::{Checkpoint, Event, MemoryStore, Store};
use tokio::sync::mpsc;

/// Yields the events sent into its channel; ends when every sender is dropped.
#[derive(Debug)]
pub struct ChannelSource {
    rx: mpsc::Receiver<Event>,
}

pub fn channel_source() -> (mpsc::Sender<Event>, ChannelSource) {
    let (tx, rx) = mpsc::channel(1024);
    (tx, ChannelSource { rx })
}

#[async_trait]
impl EventSource for ChannelSource {
    fn id(&self) -> &str {
        "test-channel"
    }

    fn kind(&self) -> &'static str {
        "replay"
    }

    async fn start(&mut self, _checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        let event = self.rx.recv().await?;
        Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(Box::new(event)),
            location: "test channel".into(),
            checkpoint: None,
        }))
    }
}

/// Waits (polling, at most `limit`) until `route`'s committed cursor reaches `seq`.
pub async fn wait_for_cursor(store: &Arc<MemoryStore>, route: &str, seq: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let cursor = store.cursor(route).unwrap();
        if cursor >= seq {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "route {route}: cursor {cursor} did not reach {seq} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
