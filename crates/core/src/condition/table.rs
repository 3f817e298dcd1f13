//! The failure reason → condition → recovery table: which event reasons put an object
//! into a condition, and which reasons take it out again. One table, so that other
//! users of "is this object still broken" (incident recovery) can share it.

use serde::Deserialize;

/// A condition an object can be in, named by its `reason` label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionRule {
    /// The `reason` label of the gauges, e.g. `BackOff`.
    pub name: String,
    /// Event reasons that put the regarding object into this condition.
    pub reasons: Vec<String>,
    /// Event reasons on the same object that end it (empty: only the quiet period or the
    /// object's deletion do).
    #[serde(default)]
    pub recovery: Vec<String>,
}

/// The built-in conditions: kubelet, scheduler and controller failure reasons with the
/// reason each one emits once the object is healthy again.
pub fn built_in() -> Vec<ConditionRule> {
    let rule = |name: &str, reasons: &[&str], recovery: &[&str]| ConditionRule {
        name: name.to_owned(),
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        recovery: recovery.iter().map(|r| (*r).to_owned()).collect(),
    };
    vec![
        rule("BackOff", &["BackOff", "CrashLoopBackOff"], &["Started"]),
        rule(
            "ImagePullBackOff",
            &["ImagePullBackOff", "ErrImagePull"],
            &["Pulled"],
        ),
        rule("FailedScheduling", &["FailedScheduling"], &["Scheduled"]),
        rule(
            "FailedMount",
            &["FailedMount", "FailedAttachVolume"],
            &["SuccessfulMountVolume", "SuccessfulAttachVolume"],
        ),
        // Probes report failures only: an Unhealthy object recovers by going quiet.
        rule("Unhealthy", &["Unhealthy"], &[]),
        rule("OOMKilling", &["OOMKilling"], &[]),
        rule("Evicted", &["Evicted"], &[]),
        rule("NodeNotReady", &["NodeNotReady"], &["NodeReady"]),
        rule("FailedCreate", &["FailedCreate"], &["SuccessfulCreate"]),
    ]
}

/// Reasons that say the regarding object itself is gone (a Node leaving the cluster).
pub const DELETION_REASONS: &[&str] = &["RemovingNode", "DeletingNode"];

/// The controllers' `SuccessfulDelete` on an owner names the deleted Pod in its
/// message (`Deleted pod: web-7d4b9`): that Pod is gone.
pub fn deleted_pod(reason: &str, message: &str) -> Option<String> {
    if reason != "SuccessfulDelete" {
        return None;
    }
    let name = message.strip_prefix("Deleted pod: ")?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_condition_is_built_in() {
        let rules = built_in();
        for reason in [
            "BackOff",
            "CrashLoopBackOff",
            "ImagePullBackOff",
            "ErrImagePull",
            "FailedScheduling",
            "FailedMount",
            "FailedAttachVolume",
            "Unhealthy",
            "OOMKilling",
            "Evicted",
            "NodeNotReady",
            "FailedCreate",
        ] {
            assert!(
                rules.iter().any(|r| r.reasons.iter().any(|x| x == reason)),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_deleted_pod_is_read_from_the_controller_message() {
        assert_eq!(
            deleted_pod("SuccessfulDelete", "Deleted pod: web-1"),
            Some("web-1".into())
        );
        assert_eq!(deleted_pod("SuccessfulCreate", "Deleted pod: web-1"), None);
        assert_eq!(deleted_pod("SuccessfulDelete", "Deleted pod: "), None);
    }
}
