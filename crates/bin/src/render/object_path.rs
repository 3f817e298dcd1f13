//! The OBJECT column of `kev query --for`: where the event's object sits below its
//! owner root (`rs/web-7d4b9c8f6 > pod/web-7d4b9c8f6-x2x4z`).

use kev_core::Event;

/// kubectl's short name of a workload kind, else the kind in lower case.
fn short(kind: &str) -> String {
    match kind {
        "Deployment" => "deploy".into(),
        "ReplicaSet" => "rs".into(),
        "StatefulSet" => "sts".into(),
        "DaemonSet" => "ds".into(),
        "CronJob" => "cj".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// The owners below the root, outermost first, then the object itself.
pub fn object_path(e: &Event) -> String {
    let links = &e.owners.links;
    let below_root = links.len().saturating_sub(1);
    links[..below_root]
        .iter()
        .rev()
        .map(|l| (l.kind.as_str(), l.name.as_str()))
        .chain([(e.regarding.kind.as_str(), e.regarding.name.as_str())])
        .map(|(kind, name)| format!("{}/{name}", short(kind)))
        .collect::<Vec<_>>()
        .join(" > ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_core::{ObjectRef, OwnerChain, OwnerLink};

    fn event(kind: &str, name: &str, links: &[(&str, &str)]) -> Event {
        Event {
            regarding: ObjectRef {
                kind: kind.into(),
                name: name.into(),
                ..Default::default()
            },
            owners: OwnerChain {
                links: links.iter().map(|(k, n)| OwnerLink::new(k, n)).collect(),
                inferred: false,
            },
            ..Default::default()
        }
    }

    #[test]
    fn paths_below_the_root() {
        let web = [("ReplicaSet", "web-7d4b9c8f6"), ("Deployment", "web")];
        assert_eq!(
            object_path(&event("Pod", "web-7d4b9c8f6-x2x4z", &web)),
            "rs/web-7d4b9c8f6 > pod/web-7d4b9c8f6-x2x4z"
        );
        assert_eq!(
            object_path(&event("ReplicaSet", "web-7d4b9c8f6", &web[1..])),
            "rs/web-7d4b9c8f6"
        );
        assert_eq!(object_path(&event("Deployment", "web", &[])), "deploy/web");
        assert_eq!(object_path(&event("Node", "n1", &[])), "node/n1");
    }
}
