//! KEE's body checked against what KEE's Go code writes for the same Event: the
//! expected JSON below is `json.Marshal(EnhancedEvent)` of the Event kubectl shows,
//! written out by hand from `k8s.io/api/core/v1` and `pkg/kube/event.go`.

use kev_core::enrich::EventContext;
use kev_core::owners::{OwnerChain, OwnerLink};
use kev_core::{Event, EventType, ObjectRef, StoredEvent};
use serde_json::{Value, json};

use super::KeeEvent;

/// A Warning of a Deployment's pod, with every field kev keeps set.
pub(crate) fn sample() -> StoredEvent {
    StoredEvent {
        seq: 1,
        event: Event {
            cluster: "prod-eu-1".into(),
            namespace: "shop".into(),
            name: "web-7d4b9c8f6-x2x4z.17f3a".into(),
            uid: "5d1f0c2e-0000-4000-8000-000000000001".into(),
            resource_version: "81234".into(),
            r#type: EventType::Warning,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container web".into(),
            action: "".into(),
            regarding: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: "web-7d4b9c8f6-x2x4z".into(),
                uid: "0b9f6d0e-0000-4000-8000-00000000000a".into(),
                field_path: "spec.containers{web}".into(),
            },
            related: None,
            owners: OwnerChain {
                links: vec![
                    OwnerLink {
                        kind: "ReplicaSet".into(),
                        name: "web-7d4b9c8f6".into(),
                        uid: "rs-uid".into(),
                    },
                    OwnerLink {
                        kind: "Deployment".into(),
                        name: "web".into(),
                        uid: "dep-uid".into(),
                    },
                ],
                inferred: false,
            },
            reporting_controller: "kubelet".into(),
            reporting_instance: "node-3".into(),
            source_host: "node-3".into(),
            first_seen: Some("2026-03-01T10:00:00.250Z".parse().unwrap()),
            last_seen: Some("2026-03-01T10:05:09.999Z".parse().unwrap()),
            count: 12,
            labels: [("team".to_owned(), "checkout".to_owned())].into(),
            annotations: Default::default(),
            truncated: false,
        },
    }
}

/// What KEE writes for [`sample`] without an object lookup of its own.
pub(crate) fn expected() -> Value {
    json!({
        "metadata": {
            "name": "web-7d4b9c8f6-x2x4z.17f3a",
            "namespace": "shop",
            "uid": "5d1f0c2e-0000-4000-8000-000000000001",
            "resourceVersion": "81234",
            "creationTimestamp": null,
            "labels": {"team": "checkout"}
        },
        "reason": "BackOff",
        "message": "Back-off restarting failed container web",
        "source": {"component": "kubelet", "host": "node-3"},
        "firstTimestamp": "2026-03-01T10:00:00Z",
        "lastTimestamp": "2026-03-01T10:05:09Z",
        "count": 12,
        "type": "Warning",
        "eventTime": null,
        "reportingComponent": "kubelet",
        "reportingInstance": "node-3",
        "clusterName": "prod-eu-1",
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": "web-7d4b9c8f6-x2x4z",
            "uid": "0b9f6d0e-0000-4000-8000-00000000000a",
            "apiVersion": "v1",
            "fieldPath": "spec.containers{web}",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6", "uid": "rs-uid"}
            ],
            "deleted": false
        }
    })
}

#[test]
fn kee_body_is_what_kee_writes_for_the_same_event() {
    let stored = sample();
    let written = serde_json::to_value(KeeEvent::new(&stored.event, None)).unwrap();
    assert_eq!(written, expected());
}

#[test]
fn kee_body_keeps_go_field_order() {
    let stored = sample();
    let text = serde_json::to_string(&KeeEvent::new(&stored.event, None)).unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
    assert!(at("metadata") < at("reason"));
    assert!(at("eventTime") < at("reportingComponent"));
    assert!(at("reportingInstance") < at("clusterName"));
    assert!(at("clusterName") < at("involvedObject"));
}

#[test]
fn object_labels_annotations_and_owners_come_from_the_gathered_object() {
    let stored = sample();
    let owners = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6",
        "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}]);
    let context = EventContext {
        spec: Some(json!({"metadata": {
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-03-01T09:00:00Z"},
            "ownerReferences": owners,
        }})),
        ..Default::default()
    };
    let v = serde_json::to_value(KeeEvent::new(&stored.event, Some(&context))).unwrap();
    let object = &v["involvedObject"];
    assert_eq!(
        object["labels"],
        json!({"app": "web", "pod-template-hash": "7d4b9c8f6"})
    );
    assert_eq!(
        object["annotations"],
        json!({"kubectl.kubernetes.io/restartedAt": "2026-03-01T09:00:00Z"})
    );
    assert_eq!(object["ownerReferences"], owners);
}

#[test]
fn empty_fields_are_left_out_as_go_omitempty_does() {
    let event = Event {
        uid: "u".into(),
        resource_version: "1".into(),
        r#type: EventType::Normal,
        owners: OwnerChain {
            links: vec![OwnerLink::new("ReplicaSet", "web-1")],
            inferred: true,
        },
        related: Some(ObjectRef {
            kind: "Node".into(),
            name: "n1".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let v = serde_json::to_value(KeeEvent::new(&event, None)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for absent in ["reason", "message", "count", "action"] {
        assert!(!keys.contains(&absent), "{absent} in {v}");
    }
    assert_eq!(v["source"], json!({}));
    assert_eq!(v["related"], json!({"kind": "Node", "name": "n1"}));
    assert_eq!(v["reportingComponent"], "");
    assert_eq!(v["firstTimestamp"], Value::Null);
    assert!(v["metadata"].get("namespace").is_none());
    assert!(v["metadata"].get("labels").is_none());
    // An owner inferred from the pod's name has no uid: not an ownerReference.
    assert!(v["involvedObject"].get("ownerReferences").is_none());
    assert_eq!(v["involvedObject"]["deleted"], false);
}
