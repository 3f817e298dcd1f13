//! [`EventVolume`]: `kev_events_total{type,reason,kind,namespace}` with bounded labels.
//!
//! Each label can be switched off. Reasons and kinds are open sets (controllers invent
//! reasons, CRDs add kinds), so only the well-known ones plus the first `top_reasons` /
//! `top_kinds` others seen get their own value; the rest count under `other`. Values
//! never move between series once given, so counters stay continuous.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::event::Event;
use crate::metrics as m;

/// Reasons of kubelet, the scheduler and the core controllers: always their own label.
const WELL_KNOWN_REASONS: &[&str] = &[
    "BackOff",
    "Completed",
    "Created",
    "Evicted",
    "ExceededGracePeriod",
    "Failed",
    "FailedAttachVolume",
    "FailedCreate",
    "FailedCreatePodSandBox",
    "FailedDelete",
    "FailedKillPod",
    "FailedMount",
    "FailedScheduling",
    "FailedSync",
    "FailedToUpdateEndpoint",
    "FailedPostStartHook",
    "FailedPreStopHook",
    "FreeDiskSpaceFailed",
    "ImageGCFailed",
    "InspectFailed",
    "InvalidDiskCapacity",
    "Killing",
    "NodeAllocatableEnforced",
    "NodeHasDiskPressure",
    "NodeHasInsufficientMemory",
    "NodeHasNoDiskPressure",
    "NodeHasSufficientMemory",
    "NodeHasSufficientPID",
    "NodeNotReady",
    "NodeNotSchedulable",
    "NodeReady",
    "NodeSchedulable",
    "OOMKilling",
    "Preempted",
    "Preempting",
    "Pulled",
    "Pulling",
    "RegisteredNode",
    "RemovingNode",
    "Rebooted",
    "SandboxChanged",
    "Scheduled",
    "ScalingReplicaSet",
    "Started",
    "Starting",
    "SuccessfulAttachVolume",
    "SuccessfulCreate",
    "SuccessfulDelete",
    "SuccessfulMountVolume",
    "SuccessfulRescale",
    "SystemOOM",
    "Unhealthy",
    "FailedGetResourceMetric",
    "FailedComputeMetricsReplicas",
    "ProvisioningFailed",
    "ProvisioningSucceeded",
    "ExternalProvisioning",
    "WaitForFirstConsumer",
    "LeaderElection",
    "ErrImagePull",
    "ImagePullBackOff",
    "CrashLoopBackOff",
    "MissingSecret",
    "NetworkNotReady",
    "DNSConfigForming",
];

/// Kinds of core objects: always their own label.
const WELL_KNOWN_KINDS: &[&str] = &[
    "Pod",
    "Node",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Service",
    "Endpoints",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "HorizontalPodAutoscaler",
    "Namespace",
    "ConfigMap",
    "Secret",
    "Ingress",
    "ServiceAccount",
    "Lease",
    "PodDisruptionBudget",
];

/// `metrics:` config: which labels `kev_events_total` carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventVolumeConfig {
    /// Label by event type (Normal, Warning, Other). Default true.
    pub by_type: bool,
    /// Label by reason. Default true.
    pub by_reason: bool,
    /// Label by involved object kind. Default true.
    pub by_kind: bool,
    /// Label by namespace. Default false: namespaces can be many.
    pub by_namespace: bool,
    /// Reasons beyond the well-known ones that get their own label, first come first
    /// served; later ones count as `other`. Default 50.
    pub top_reasons: usize,
    /// Kinds beyond the core ones that get their own label. Default 30.
    pub top_kinds: usize,
    /// Namespaces that get their own label when `by_namespace` is on. Default 100.
    pub top_namespaces: usize,
}

impl Default for EventVolumeConfig {
    fn default() -> Self {
        Self {
            by_type: true,
            by_reason: true,
            by_kind: true,
            by_namespace: false,
            top_reasons: 50,
            top_kinds: 30,
            top_namespaces: 100,
        }
    }
}

/// Counts stored events into `kev_events_total` with bounded label values.
///
/// ```
/// use kev_core::pipeline::{EventVolume, EventVolumeConfig};
/// let mut v = EventVolume::new(EventVolumeConfig { top_reasons: 1, ..Default::default() });
/// assert_eq!(v.reason_label("BackOff"), "BackOff");       // well known
/// assert_eq!(v.reason_label("MyControllerSaidHi"), "MyControllerSaidHi"); // first other
/// assert_eq!(v.reason_label("AnotherOne"), "other");      // over the limit
/// ```
#[derive(Debug)]
pub struct EventVolume {
    config: EventVolumeConfig,
    reasons: Bounded,
    kinds: Bounded,
    namespaces: Bounded,
}

/// A set of label values that grows up to a limit, on top of fixed ones.
#[derive(Debug)]
struct Bounded {
    fixed: HashSet<&'static str>,
    extra: HashSet<String>,
    limit: usize,
}

impl Bounded {
    fn new(fixed: &[&'static str], limit: usize) -> Self {
        Self {
            fixed: fixed.iter().copied().collect(),
            extra: HashSet::new(),
            limit,
        }
    }

    fn label(&mut self, value: &str) -> String {
        if self.fixed.contains(value) || self.extra.contains(value) {
            return value.to_owned();
        }
        if self.extra.len() < self.limit && !value.is_empty() {
            self.extra.insert(value.to_owned());
            return value.to_owned();
        }
        "other".to_owned()
    }
}

impl EventVolume {
    pub fn new(config: EventVolumeConfig) -> Self {
        Self {
            reasons: Bounded::new(WELL_KNOWN_REASONS, config.top_reasons),
            kinds: Bounded::new(WELL_KNOWN_KINDS, config.top_kinds),
            namespaces: Bounded::new(&[], config.top_namespaces),
            config,
        }
    }

    pub fn reason_label(&mut self, reason: &str) -> String {
        self.reasons.label(reason)
    }

    /// Counts one stored event.
    pub fn record(&mut self, event: &Event) {
        let tally = self.tally(std::iter::once(event));
        self.record_tally(tally);
    }

    /// Gathers the label values of stored events (before they move into the store), so
    /// that [`EventVolume::record_tally`] touches each counter once per batch.
    pub fn tally<'a>(&self, events: impl IntoIterator<Item = &'a Event>) -> VolumeTally {
        let c = &self.config;
        let mut index: HashMap<[&str; 4], usize> = HashMap::new();
        let mut rows: Vec<([&str; 4], u64)> = Vec::new();
        for e in events {
            let pick = |on: bool, v: &'a str| if on { v } else { "" };
            let key = [
                pick(c.by_type, e.r#type.metric_label()),
                pick(c.by_reason, &e.reason),
                pick(c.by_kind, &e.regarding.kind),
                pick(c.by_namespace, &e.namespace),
            ];
            // First seen first: label values are handed out in arrival order.
            let at = *index.entry(key).or_insert_with(|| {
                rows.push((key, 0));
                rows.len() - 1
            });
            rows[at].1 += 1;
        }
        VolumeTally {
            rows: rows
                .into_iter()
                .map(|(k, n)| (k.map(str::to_owned), n))
                .collect(),
        }
    }

    /// Counts what [`EventVolume::tally`] gathered.
    pub fn record_tally(&mut self, tally: VolumeTally) {
        for ([r#type, reason, kind, namespace], n) in tally.rows {
            let mut labels: Vec<metrics::Label> = Vec::with_capacity(4);
            if self.config.by_type {
                labels.push(metrics::Label::new("type", r#type));
            }
            if self.config.by_reason {
                labels.push(metrics::Label::new("reason", self.reasons.label(&reason)));
            }
            if self.config.by_kind {
                labels.push(metrics::Label::new("kind", self.kinds.label(&kind)));
            }
            if self.config.by_namespace {
                labels.push(metrics::Label::new(
                    "namespace",
                    self.namespaces.label(&namespace),
                ));
            }
            metrics::counter!(m::EVENTS_TOTAL, labels).increment(n);
        }
    }
}

/// Stored events counted by their raw (type, reason, kind, namespace) values, in the
/// order each combination first appeared; see [`EventVolume::tally`].
#[derive(Debug, Default)]
pub struct VolumeTally {
    rows: Vec<([String; 4], u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_stay_bounded_and_stable() {
        let mut v = EventVolume::new(EventVolumeConfig {
            top_reasons: 3,
            ..Default::default()
        });
        let labels: Vec<String> = (0..10)
            .map(|i| v.reason_label(&format!("Custom{i}")))
            .collect();
        assert_eq!(&labels[..3], &["Custom0", "Custom1", "Custom2"]);
        assert!(labels[3..].iter().all(|l| l == "other"));
        assert_eq!(
            v.reason_label("Custom1"),
            "Custom1",
            "a value once given stays"
        );
        assert_eq!(v.reason_label("FailedScheduling"), "FailedScheduling");
        assert_eq!(v.reason_label(""), "other");
    }

    #[test]
    fn a_tally_counts_each_label_set_once_in_arrival_order() {
        let mut v = EventVolume::new(EventVolumeConfig {
            top_reasons: 1,
            ..Default::default()
        });
        let e = |reason: &str, ns: &str| Event {
            reason: reason.into(),
            namespace: ns.into(),
            ..Default::default()
        };
        let batch = [e("CustomB", "a"), e("CustomA", "b"), e("CustomB", "c")];
        let tally = v.tally(&batch);
        // Namespaces are not a label by default: the two CustomB events are one row.
        let rows: Vec<(&str, u64)> = tally
            .rows
            .iter()
            .map(|(k, n)| (k[1].as_str(), *n))
            .collect();
        assert_eq!(rows, [("CustomB", 2), ("CustomA", 1)]);
        v.record_tally(tally);
        // CustomB came first, so it took the one free reason label.
        assert_eq!(v.reason_label("CustomB"), "CustomB");
        assert_eq!(v.reason_label("CustomA"), "other");
    }
}
