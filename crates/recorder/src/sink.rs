//! [`RecorderSink`]: a pipeline [`Sink`] that emits one Kubernetes Event per delivered
//! kev event, on the same involved object (e.g. `RemediationRequested` once a route
//! handed a warning to the remediation agent).

use std::sync::Arc;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::{Batch, EventType, Sink, SinkError};

use super::new_event::{DropReason, EventRecorder, NewEvent, Published};
use super::validate::{MAX_FIELD_CHARS, is_upper_camel_case};

/// Emits `reason`/`action` events through a recorder for every event of the batch. The
/// note names the original event: `<type> <reason>: <message>`.
///
/// Delivery is "queued with the recorder": spam-filtered or quiet events count as
/// delivered (dropping them is the point), a full queue is a retryable failure, so the
/// route backs off instead of losing events.
///
/// ```
/// use std::sync::Arc;
/// use kev_core::EventType;
/// use kev_recorder::{FakeRecorder, RecorderSink};
/// let fake = Arc::new(FakeRecorder::new());
/// let sink = RecorderSink::new(fake.clone(), EventType::Normal, "RemediationRequested", "Remediate").unwrap();
/// assert!(RecorderSink::new(fake, EventType::Normal, "remediation requested", "Remediate").is_err());
/// ```
#[derive(Debug)]
pub struct RecorderSink {
    recorder: Arc<dyn EventRecorder>,
    r#type: EventType,
    reason: String,
    action: String,
}

impl RecorderSink {
    /// Checks `reason` (UpperCamelCase, at most 128 characters) and `action` here, so a
    /// bad route config fails at start instead of in the pipeline.
    pub fn new(
        recorder: Arc<dyn EventRecorder>,
        r#type: EventType,
        reason: &str,
        action: &str,
    ) -> Result<Self, ConfigError> {
        if !matches!(r#type, EventType::Normal | EventType::Warning) {
            return Err(ConfigError::new("type", "must be Normal or Warning"));
        }
        if !is_upper_camel_case(reason) || reason.len() > MAX_FIELD_CHARS {
            return Err(ConfigError::new(
                "reason",
                format!("{reason:?} must be UpperCamelCase and at most 128 characters"),
            ));
        }
        if action.is_empty() || action.chars().count() > MAX_FIELD_CHARS {
            return Err(ConfigError::new("action", "must be 1 to 128 characters"));
        }
        Ok(Self {
            recorder,
            r#type,
            reason: reason.to_owned(),
            action: action.to_owned(),
        })
    }
}

#[async_trait]
impl Sink for RecorderSink {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        let batch = batch.events();
        for (i, stored) in batch.iter().enumerate() {
            let e = &stored.event;
            let note = format!("{} {}: {}", e.r#type, e.reason, e.message);
            let event = NewEvent::new(
                &e.regarding,
                self.r#type.clone(),
                &self.reason,
                &self.action,
                note,
            );
            match self.recorder.record(event) {
                Published::Dropped(DropReason::QueueFull) => {
                    return Err(SinkError::retryable("the event recorder's queue is full")
                        .with_delivered(i));
                }
                Published::Dropped(DropReason::Closed) => {
                    return Err(
                        SinkError::permanent("the event recorder has stopped").with_delivered(i)
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FakeRecorder;
    use kev_core::{Event, ObjectRef};

    #[tokio::test]
    async fn emits_one_event_per_delivered_event_on_its_object() {
        let fake = Arc::new(FakeRecorder::new());
        let sink = RecorderSink::new(
            fake.clone(),
            EventType::Normal,
            "RemediationRequested",
            "Remediate",
        )
        .unwrap();
        let pod = ObjectRef {
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: "cart-1".into(),
            ..Default::default()
        };
        let event = Event {
            r#type: EventType::Warning,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            regarding: pod.clone(),
            ..Event::default()
        };
        sink.deliver(kev_core::Batch::new(&[kev_core::StoredEvent {
            seq: 1,
            event,
        }]))
        .await
        .unwrap();
        fake.assert_emitted(EventType::Normal, "RemediationRequested", 1);
        let got = fake.for_object(&pod);
        assert_eq!(
            got[0].note,
            "Warning BackOff: Back-off restarting failed container"
        );
        assert_eq!(got[0].action, "Remediate");
    }
}
