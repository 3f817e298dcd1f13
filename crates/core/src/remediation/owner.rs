//! [`owner_of`]: the workload that owns an event's object, where that is cheap to see.

use crate::event::Event;
use crate::owners::names::pod_owner;

pub use crate::owners::names::Owner;

/// The owner of the event's object: the related object when it is a workload, else,
/// for a Pod, the owner its generated name shows (`web-7d4b9c8f6-x2x4z` → ReplicaSet
/// `web-7d4b9c8f6`, `db-0` → StatefulSet `db`, `job-x2x4z` → `job`). `None` when there
/// is nothing to see.
///
/// ```
/// use kev_core::{Event, ObjectRef};
/// use kev_core::remediation::owner_of;
/// let pod = |name: &str| Event { regarding: ObjectRef { kind: "Pod".into(), name: name.into(), ..Default::default() }, ..Default::default() };
/// assert_eq!(owner_of(&pod("web-7d4b9c8f6-x2x4z")).unwrap().name, "web-7d4b9c8f6");
/// assert_eq!(owner_of(&pod("db-0")).unwrap().kind, "StatefulSet");
/// assert!(owner_of(&pod("standalone")).is_none());
/// ```
pub fn owner_of(event: &Event) -> Option<Owner> {
    if let Some(related) = &event.related {
        let workload = matches!(
            related.kind.as_str(),
            "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
        );
        if workload && !related.name.is_empty() {
            return Some(Owner {
                kind: related.kind.clone(),
                name: related.name.clone(),
            });
        }
    }
    if event.regarding.kind != "Pod" {
        return None;
    }
    pod_owner(&event.regarding.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ObjectRef;

    fn pod(name: &str) -> Event {
        Event {
            regarding: ObjectRef {
                kind: "Pod".into(),
                name: name.into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn owner(kind: &str, name: &str) -> Option<Owner> {
        Some(Owner {
            kind: kind.into(),
            name: name.into(),
        })
    }

    #[test]
    fn names_show_owners() {
        assert_eq!(
            owner_of(&pod("api-server-5f6b8d9c47-qwxzr")),
            owner("ReplicaSet", "api-server-5f6b8d9c47")
        );
        assert_eq!(
            owner_of(&pod("backup-28405-hjk2p")),
            owner("Workload", "backup-28405")
        );
        assert_eq!(owner_of(&pod("web-12")), owner("StatefulSet", "web"));
        // A vowel cannot be in a generated suffix: a hand-made name.
        assert_eq!(owner_of(&pod("my-pod-hello")), None);
        assert_eq!(owner_of(&pod("-abcde")), None);
        assert_eq!(owner_of(&pod("single")), None);
        let mut node = pod("node-1");
        node.regarding.kind = "Node".into();
        assert_eq!(owner_of(&node), None);
    }

    #[test]
    fn related_workload_wins() {
        let mut e = pod("anything");
        e.related = Some(ObjectRef {
            kind: "Job".into(),
            name: "nightly".into(),
            ..Default::default()
        });
        assert_eq!(owner_of(&e), owner("Job", "nightly"));
        if let Some(r) = e.related.as_mut() {
            r.kind = "Node".into();
        }
        assert_eq!(owner_of(&e), None);
    }
}
