//! [`KeeEvent`]: kubernetes-event-exporter's default JSON body (`format: kee`), so a
//! receiver written for KEE takes kev's events unchanged.
//!
//! KEE (`pkg/kube/event.go`) sends its `EnhancedEvent`: the core/v1 Event as Go's
//! `encoding/json` writes it (`metav1.Time` as RFC 3339 seconds, a zero time as `null`,
//! `omitempty` fields left out), with `clusterName` and an `involvedObject` that adds the
//! object's `labels`, `annotations`, `ownerReferences` and `deleted`. The mapping from
//! kev's Event is in `docs/config.md` (`format: kee`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use kev_core::enrich::EventContext;
use kev_core::owners::OwnerLink;
use kev_core::{Event, ObjectRef};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// The body of what a sink writes per event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFormat {
    /// kev's Event JSON (`docs/event-json.md`).
    #[default]
    Kev,
    /// KEE's `EnhancedEvent` JSON.
    Kee,
}

/// One event as KEE writes it. Field order follows Go's (the embedded Event's fields,
/// then `clusterName`, then `involvedObject`).
///
/// ```
/// use kev_core::{Event, EventType, ObjectRef};
/// let e = Event {
///     cluster: "prod".into(), namespace: "web".into(), name: "web-0.17a".into(), uid: "e1".into(),
///     resource_version: "7".into(), r#type: EventType::Warning, reason: "BackOff".into(), count: 3,
///     regarding: ObjectRef { kind: "Pod".into(), name: "web-0".into(), namespace: "web".into(), ..Default::default() },
///     first_seen: Some("2026-01-02T03:04:05.678Z".parse().unwrap()),
///     ..Default::default()
/// };
/// let v = serde_json::to_value(kev_sinks::kee::KeeEvent::new(&e, None)).unwrap();
/// assert_eq!(v["metadata"]["uid"], "e1");
/// assert_eq!(v["involvedObject"]["kind"], "Pod");
/// assert_eq!(v["firstTimestamp"], "2026-01-02T03:04:05Z");
/// assert_eq!(v["lastTimestamp"], serde_json::Value::Null);
/// assert_eq!(v["clusterName"], "prod");
/// ```
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeeEvent<'a> {
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    source: Source<'a>,
    #[serde(serialize_with = "go_time")]
    first_timestamp: Option<Timestamp>,
    #[serde(serialize_with = "go_time")]
    last_timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "is_zero")]
    count: u32,
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    /// kev keeps one first/last time per event, written as `firstTimestamp` /
    /// `lastTimestamp`; `eventTime` is the zero `MicroTime`, which Go writes as `null`.
    event_time: Option<()>,
    #[serde(skip_serializing_if = "str::is_empty")]
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    related: Option<Reference<'a>>,
    reporting_component: &'a str,
    reporting_instance: &'a str,
    cluster_name: &'a str,
    involved_object: InvolvedObject<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    resource_version: &'a str,
    /// Not kept by kev; Go writes the zero time as `null`.
    creation_timestamp: Option<()>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Source<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    component: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    host: &'a str,
}

/// A core/v1 `ObjectReference`: every field `omitempty`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Reference<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    api_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    field_path: &'a str,
}

impl<'a> From<&'a ObjectRef> for Reference<'a> {
    fn from(o: &'a ObjectRef) -> Self {
        Self {
            kind: &o.kind,
            namespace: &o.namespace,
            name: &o.name,
            uid: &o.uid,
            api_version: &o.api_version,
            field_path: &o.field_path,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InvolvedObject<'a> {
    #[serde(flatten)]
    reference: Reference<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a Value>,
    #[serde(skip_serializing_if = "OwnerReferences::is_empty")]
    owner_references: OwnerReferences<'a>,
    deleted: bool,
}

/// The involved object's `ownerReferences`: as the API returned them when the route
/// gathered the object (`context: {spec: true}`), else the nearest owner kev read from
/// the API (an owner inferred from names is not a reference and is left out).
#[derive(Debug)]
enum OwnerReferences<'a> {
    Api(&'a Value),
    Nearest(&'a OwnerLink),
    None,
}

impl OwnerReferences<'_> {
    fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }
}

impl Serialize for OwnerReferences<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Owner<'a> {
            api_version: &'a str,
            kind: &'a str,
            name: &'a str,
            uid: &'a str,
        }
        match self {
            Self::Api(v) => v.serialize(s),
            Self::Nearest(link) => [Owner {
                api_version: api_version_of(&link.kind),
                kind: &link.kind,
                name: &link.name,
                uid: &link.uid,
            }]
            .serialize(s),
            Self::None => s.serialize_none(),
        }
    }
}

/// The API group/version of the owner kinds Kubernetes itself sets; `""` for others.
fn api_version_of(kind: &str) -> &'static str {
    match kind {
        "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "Node" | "Pod" | "ReplicationController" => "v1",
        _ => "",
    }
}

impl<'a> KeeEvent<'a> {
    /// `event` in KEE's shape; the involved object's labels, annotations and owner
    /// references come from the object the route gathered, when it did.
    pub fn new(event: &'a Event, context: Option<&'a EventContext>) -> Self {
        let object_meta = context
            .and_then(|c| c.spec.as_ref())
            .and_then(|spec| spec.get("metadata"));
        let meta_field = |name: &str| {
            object_meta
                .and_then(|m| m.get(name))
                .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        };
        let owner_references = match object_meta.and_then(|m| m.get("ownerReferences")) {
            Some(v) if v.as_array().is_some_and(|a| !a.is_empty()) => OwnerReferences::Api(v),
            Some(_) => OwnerReferences::None,
            None => match event.owners.links.first() {
                Some(link) if !event.owners.inferred && !link.uid.is_empty() => {
                    OwnerReferences::Nearest(link)
                }
                _ => OwnerReferences::None,
            },
        };
        Self {
            metadata: Metadata {
                name: &event.name,
                namespace: &event.namespace,
                uid: &event.uid,
                resource_version: &event.resource_version,
                creation_timestamp: None,
                labels: &event.labels,
                annotations: &event.annotations,
            },
            reason: &event.reason,
            message: &event.message,
            source: Source {
                component: &event.reporting_controller,
                host: &event.source_host,
            },
            first_timestamp: event.first_seen,
            last_timestamp: event.last_seen,
            count: event.count,
            kind: event.r#type.as_str(),
            event_time: None,
            action: &event.action,
            related: event.related.as_ref().map(Reference::from),
            reporting_component: &event.reporting_controller,
            reporting_instance: &event.reporting_instance,
            cluster_name: &event.cluster,
            involved_object: InvolvedObject {
                reference: Reference::from(&event.regarding),
                labels: meta_field("labels"),
                annotations: meta_field("annotations"),
                owner_references,
                deleted: false,
            },
        }
    }
}

/// `metav1.Time`'s JSON: RFC 3339 in UTC to the second, `null` for the zero time.
fn go_time<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&t.strftime("%Y-%m-%dT%H:%M:%SZ")),
        None => s.serialize_none(),
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
pub(crate) mod tests;
