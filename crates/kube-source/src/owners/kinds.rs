//! The kinds the owner walk reads: the workload kinds that own pods, and pods. The
//! RBAC rules in deploy/ grant `get` on exactly these.

use kube::api::{ApiResource, GroupVersionKind};

/// `(group, version, kind, plural)` of each kind the walk GETs.
pub const WALKED: [(&str, &str, &str, &str); 7] = [
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
];

/// The resource of a walked kind; `api_version` (`apps/v1`, or empty: any) must name
/// its group, so a custom kind that happens to be called `Deployment` is not read.
pub fn walked(api_version: &str, kind: &str) -> Option<ApiResource> {
    let group = match api_version.split_once('/') {
        Some((group, _)) => Some(group),
        None if api_version.is_empty() => None,
        None => Some(""),
    };
    WALKED
        .iter()
        .find(|(g, _, k, _)| *k == kind && group.is_none_or(|group| group == *g))
        .map(|(g, v, k, plural)| {
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), plural)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_workload_kinds_of_their_groups_are_walked() {
        assert_eq!(walked("v1", "Pod").map(|r| r.plural), Some("pods".into()));
        assert_eq!(
            walked("apps/v1", "ReplicaSet").map(|r| r.plural),
            Some("replicasets".into())
        );
        assert!(walked("", "Job").is_some());
        assert!(walked("example.com/v1", "Deployment").is_none());
        assert!(walked("v1", "Node").is_none());
        assert!(walked("apps/v1", "Pod").is_none());
    }
}
