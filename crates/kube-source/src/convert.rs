//! k8s-openapi Event types → kev-core's [`KubeEvent`] wire struct.

use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource as CoreSource, ObjectReference};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kev_core::KubeEvent;
use kev_core::normalize::{KubeEventSeries, KubeEventSource, KubeMeta, KubeObjectRef};

/// A core/v1 Event as kev's wire struct; the fields move, nothing is cloned.
///
/// ```
/// use k8s_openapi::api::core::v1::Event;
/// let mut e = Event::default();
/// e.metadata.uid = Some("u1".into());
/// e.message = Some("Back-off restarting".into());
/// let k = kev_kube_source::kube_event_from_core(e);
/// assert_eq!(k.api_version.as_deref(), Some("v1"));
/// assert_eq!(k.metadata.uid.as_deref(), Some("u1"));
/// assert_eq!(k.message.as_deref(), Some("Back-off restarting"));
/// ```
pub fn kube_event_from_core(e: CoreEvent) -> KubeEvent {
    KubeEvent {
        api_version: Some("v1".into()),
        kind: Some("Event".into()),
        metadata: meta(e.metadata),
        r#type: e.type_,
        reason: e.reason,
        action: e.action,
        message: e.message,
        involved_object: Some(object_ref(e.involved_object)),
        related: e.related.map(object_ref),
        source: e.source.map(source),
        reporting_component: e.reporting_component,
        reporting_instance: e.reporting_instance,
        first_timestamp: e.first_timestamp.map(|t| t.0.to_string()),
        last_timestamp: e.last_timestamp.map(|t| t.0.to_string()),
        event_time: e.event_time.map(|t| t.0.to_string()),
        count: e.count.map(i64::from),
        series: e.series.map(|s| KubeEventSeries {
            count: s.count.map(i64::from),
            last_observed_time: s.last_observed_time.map(|t| t.0.to_string()),
        }),
        ..Default::default()
    }
}

/// An events.k8s.io/v1 Event as kev's wire struct.
///
/// ```
/// use k8s_openapi::api::events::v1::Event;
/// let mut e = Event::default();
/// e.note = Some("pulled".into());
/// e.reporting_controller = Some("kubelet".into());
/// let k = kev_kube_source::kube_event_from_events(e);
/// assert_eq!(k.api_version.as_deref(), Some("events.k8s.io/v1"));
/// assert_eq!(k.note.as_deref(), Some("pulled"));
/// assert_eq!(k.reporting_controller.as_deref(), Some("kubelet"));
/// ```
pub fn kube_event_from_events(e: EventsEvent) -> KubeEvent {
    KubeEvent {
        api_version: Some("events.k8s.io/v1".into()),
        kind: Some("Event".into()),
        metadata: meta(e.metadata),
        r#type: e.type_,
        reason: e.reason,
        action: e.action,
        note: e.note,
        regarding: e.regarding.map(object_ref),
        related: e.related.map(object_ref),
        deprecated_source: e.deprecated_source.map(source),
        reporting_controller: e.reporting_controller,
        reporting_instance: e.reporting_instance,
        deprecated_first_timestamp: e.deprecated_first_timestamp.map(|t| t.0.to_string()),
        deprecated_last_timestamp: e.deprecated_last_timestamp.map(|t| t.0.to_string()),
        event_time: e.event_time.map(|t| t.0.to_string()),
        deprecated_count: e.deprecated_count.map(i64::from),
        series: e.series.map(|s| KubeEventSeries {
            count: Some(i64::from(s.count)),
            last_observed_time: Some(s.last_observed_time.0.to_string()),
        }),
        ..Default::default()
    }
}

fn meta(m: ObjectMeta) -> KubeMeta {
    KubeMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        creation_timestamp: m.creation_timestamp.map(|t| t.0.to_string()),
        labels: m.labels.unwrap_or_default(),
        annotations: m.annotations.unwrap_or_default(),
    }
}

fn object_ref(o: ObjectReference) -> KubeObjectRef {
    KubeObjectRef {
        api_version: o.api_version,
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        uid: o.uid,
        field_path: o.field_path,
        resource_version: o.resource_version,
    }
}

fn source(s: CoreSource) -> KubeEventSource {
    KubeEventSource {
        component: s.component,
        host: s.host,
    }
}
