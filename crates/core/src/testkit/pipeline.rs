//! Pipeline parts for tests that start from kev events rather than Kubernetes objects:
//! [`EventsSource`] hands out a fixed list of events, [`PassThrough`] keeps them as
//! they are.
//!
//! ```
//! use std::sync::Arc;
//! use kev_core::testkit::pipeline::{EventsSource, PassThrough};
//! use kev_core::{Event, MemoryStore, pipeline::Pipeline};
//!
//! let events = vec![Event { uid: "u1".into(), resource_version: "1".into(), ..Default::default() }];
//! let pipeline = Pipeline::new(
//!     Box::new(EventsSource::new(events)),
//!     Arc::new(PassThrough),
//!     Arc::new(MemoryStore::new()),
//! );
//! # drop(pipeline);
//! ```

use async_trait::async_trait;

use crate::event::Event;
use crate::normalize::{KubeEvent, NormalizeError, Normalizer};
use crate::source::{EventSource, RawEvent, SourceError, SourceItem};
use crate::store::Checkpoint;

/// Hands out a fixed list of events once, in order, then ends.
#[derive(Debug)]
pub struct EventsSource {
    events: std::vec::IntoIter<Event>,
    handed_out: usize,
}

impl EventsSource {
    pub fn new(events: Vec<Event>) -> Self {
        Self {
            events: events.into_iter(),
            handed_out: 0,
        }
    }
}

#[async_trait]
impl EventSource for EventsSource {
    fn id(&self) -> &str {
        "testkit-events"
    }

    fn kind(&self) -> &'static str {
        "replay"
    }

    async fn start(&mut self, _checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        let event = self.events.next()?;
        self.handed_out += 1;
        Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(Box::new(event)),
            location: format!("item {}", self.handed_out),
            checkpoint: None,
        }))
    }
}

/// Keeps kev events as they are; refuses Kubernetes objects (tests of routes and sinks
/// have no use for normalization).
#[derive(Debug)]
pub struct PassThrough;

impl Normalizer for PassThrough {
    fn normalize(&self, _raw: KubeEvent) -> Result<Event, NormalizeError> {
        Err(NormalizeError::Malformed(
            "the testkit pipeline takes kev events only".into(),
        ))
    }

    fn sanitize(&self, event: Event) -> Event {
        event
    }
}
