//! [`SimpleNormalizer`]: a test-only [`Normalizer`] that maps the few `KubeEvent` fields
//! the suites check. The default normalizer of kev-core replaces it once it lands.

use kev_core::normalize::KubeObjectRef;
use kev_core::{Event, EventType, KubeEvent, NormalizeError, Normalizer, ObjectRef};

/// Maps uid, resourceVersion, namespace, name, type, reason, message/note, count, the
/// involved object, the owner chain the source attached, and `last_seen` (series last observed, eventTime or lastTimestamp);
/// requires uid and resourceVersion, nothing else.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimpleNormalizer;

impl Normalizer for SimpleNormalizer {
    fn normalize(&self, raw: KubeEvent) -> Result<Event, NormalizeError> {
        if let Some(kind) = raw.kind.as_deref()
            && kind != "Event"
        {
            return Err(NormalizeError::NotAnEvent(kind.to_owned()));
        }
        let meta = raw.metadata;
        let uid = meta
            .uid
            .ok_or(NormalizeError::MissingField("metadata.uid"))?;
        let resource_version = meta
            .resource_version
            .ok_or(NormalizeError::MissingField("metadata.resourceVersion"))?;
        let regarding = raw
            .involved_object
            .or(raw.regarding)
            .map(object_ref)
            .unwrap_or_default();
        let last_seen = raw
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_deref())
            .or(raw.event_time.as_deref())
            .or(raw.last_timestamp.as_deref())
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        let count = raw
            .series
            .and_then(|s| s.count)
            .or(raw.count)
            .or(raw.deprecated_count)
            .unwrap_or(1);
        Ok(Event {
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            uid,
            resource_version,
            r#type: EventType::parse(raw.r#type.as_deref().unwrap_or_default()),
            reason: raw.reason.unwrap_or_default(),
            message: raw.message.or(raw.note).unwrap_or_default(),
            regarding,
            owners: raw.owners,
            count: u32::try_from(count.max(1)).unwrap_or(u32::MAX),
            last_seen,
            ..Default::default()
        })
    }

    fn sanitize(&self, event: Event) -> Event {
        event
    }
}

fn object_ref(o: KubeObjectRef) -> ObjectRef {
    ObjectRef {
        api_version: o.api_version.unwrap_or_default(),
        kind: o.kind.unwrap_or_default(),
        namespace: o.namespace.unwrap_or_default(),
        name: o.name.unwrap_or_default(),
        uid: o.uid.unwrap_or_default(),
        field_path: o.field_path.unwrap_or_default(),
    }
}
