//! The owners that generated names show, shared by the remediation key
//! ([`crate::remediation::owner_of`]) and [`super::infer_chain`].

/// The characters Kubernetes uses for generated name suffixes and pod-template hashes
/// (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no look-alikes.
const GENERATED: &str = "bcdfghjklmnpqrstvwxz2456789";

/// An owning workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `ReplicaSet`, `StatefulSet`, the related object's kind, or `Workload` for a Job
    /// or DaemonSet child (their pod names look the same).
    pub kind: String,
    pub name: String,
}

/// The owner a pod's generated name shows: `web-7d4b9c8f6-x2x4z` → ReplicaSet
/// `web-7d4b9c8f6`, `db-0` → StatefulSet `db`, `job-x2x4z` → `Workload` `job`.
pub(crate) fn pod_owner(name: &str) -> Option<Owner> {
    let (base, suffix) = name.rsplit_once('-')?;
    if base.is_empty() {
        return None;
    }
    if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Owner {
            kind: "StatefulSet".to_owned(),
            name: base.to_owned(),
        });
    }
    if suffix.len() != 5 || !generated(suffix) {
        return None;
    }
    Some(Owner {
        kind: if deployment_of(base).is_some() {
            "ReplicaSet"
        } else {
            "Workload"
        }
        .to_owned(),
        name: base.to_owned(),
    })
}

/// The Deployment a ReplicaSet's name shows: `web-7d4b9c8f6` → `web` (a pod-template
/// hash of 6 to 10 generated characters).
pub(crate) fn deployment_of(replica_set: &str) -> Option<&str> {
    replica_set
        .rsplit_once('-')
        .filter(|(base, hash)| {
            !base.is_empty() && (6..=10).contains(&hash.len()) && generated(hash)
        })
        .map(|(base, _)| base)
}

/// The CronJob a Job's name shows: `backup-29401200` → `backup` (the CronJob controller
/// appends the scheduled time in minutes since the epoch, 8 digits and more).
pub(crate) fn cron_job_of(job: &str) -> Option<&str> {
    job.rsplit_once('-')
        .filter(|(base, t)| {
            !base.is_empty() && t.len() >= 8 && t.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(base, _)| base)
}

fn generated(s: &str) -> bool {
    s.chars().all(|c| GENERATED.contains(c))
}
