//! [`infer_chain`]: an owner chain from generated names, for sources without an API
//! server to ask (replay, a fleet's central kev fed by an agent that sent none).

use super::chain::{OwnerChain, OwnerLink};
use super::names::{cron_job_of, deployment_of, pod_owner};
use crate::event::ObjectRef;

/// The chain the object's name shows, marked inferred; empty when it shows none.
///
/// `Workload` stands for a Job or DaemonSet whose pods' names look alike; a Job whose
/// name ends in a scheduled time belongs to a CronJob.
///
/// ```
/// use kev_core::ObjectRef;
/// use kev_core::owners::infer_chain;
/// let pod = ObjectRef { kind: "Pod".into(), name: "web-7d4b9c8f6-x2x4z".into(), ..Default::default() };
/// let chain = infer_chain(&pod);
/// let path: Vec<_> = chain.links.iter().map(|l| format!("{}/{}", l.kind, l.name)).collect();
/// assert_eq!(path, ["ReplicaSet/web-7d4b9c8f6", "Deployment/web"]);
/// assert!(chain.inferred);
/// ```
pub fn infer_chain(object: &ObjectRef) -> OwnerChain {
    let mut links = Vec::new();
    let (mut kind, mut name) = (object.kind.clone(), object.name.clone());
    if kind == "Pod" {
        match pod_owner(&name) {
            Some(owner) if owner.kind == "Workload" && cron_job_of(&owner.name).is_some() => {
                kind = "Job".to_owned();
                name = owner.name;
            }
            Some(owner) => {
                kind = owner.kind;
                name = owner.name;
            }
            None => {}
        }
        if kind != "Pod" {
            links.push(OwnerLink::new(&kind, &name));
        }
    }
    let parent = match kind.as_str() {
        "ReplicaSet" => deployment_of(&name).map(|d| ("Deployment", d)),
        "Job" => cron_job_of(&name).map(|c| ("CronJob", c)),
        _ => None,
    };
    if let Some((kind, name)) = parent {
        links.push(OwnerLink::new(kind, name));
    }
    OwnerChain {
        inferred: !links.is_empty(),
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(kind: &str, name: &str) -> Vec<String> {
        let object = ObjectRef {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        };
        infer_chain(&object)
            .links
            .iter()
            .map(|l| format!("{}/{}", l.kind, l.name))
            .collect()
    }

    #[test]
    fn names_show_chains() {
        assert_eq!(
            path("Pod", "web-7d4b9c8f6-x2x4z"),
            ["ReplicaSet/web-7d4b9c8f6", "Deployment/web"]
        );
        assert_eq!(path("ReplicaSet", "web-7d4b9c8f6"), ["Deployment/web"]);
        assert_eq!(path("Pod", "db-0"), ["StatefulSet/db"]);
        assert_eq!(
            path("Pod", "backup-29401200-hjk2p"),
            ["Job/backup-29401200", "CronJob/backup"]
        );
        assert_eq!(path("Job", "backup-29401200"), ["CronJob/backup"]);
        assert_eq!(path("Pod", "agent-x2x4z"), ["Workload/agent"]);
    }

    #[test]
    fn standalone_objects_have_no_chain() {
        assert!(path("Pod", "my-pod-hello").is_empty());
        assert!(path("Node", "node-1").is_empty());
        assert!(path("Deployment", "web-7d4b9c8f6").is_empty());
        assert!(!infer_chain(&ObjectRef::default()).inferred);
    }
}
