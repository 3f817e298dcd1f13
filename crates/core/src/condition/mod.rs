//! State gauges derived from events, the kube-state-metrics of events:
//! `kev_objects_in_condition{namespace,kind,reason}` counts the objects that are in a
//! failure condition now (CrashLoop back-off, image pulls failing, unschedulable, …)
//! and `kev_condition_seconds` says how long the oldest of them has been in it.
//!
//! An object enters a condition with a failure event ([`table`]) and leaves it with
//! the recovery event of that condition, when its failure events stop for
//! [`ConditionConfig::quiet_period`], or when it is deleted. The tracker is rebuilt
//! from the store at start ([`rebuild`]), and its series are bounded
//! ([`exposition`]).
//!
//! ```
//! use kev_core::condition::{ConditionConfig, ConditionTracker};
//! use kev_core::{Event, ObjectRef};
//! let tracker = ConditionTracker::new(ConditionConfig::default());
//! let pod = ObjectRef { kind: "Pod".into(), namespace: "shop".into(), name: "web-0".into(), ..Default::default() };
//! let event = |reason: &str| Event { reason: reason.into(), regarding: pod.clone(), last_seen: Some(jiff::Timestamp::now()), ..Default::default() };
//! tracker.observe(&event("BackOff"));
//! assert!(tracker.render().contains(r#"kev_objects_in_condition{namespace="shop",kind="Pod",reason="BackOff"} 1"#));
//! tracker.observe(&event("Started"));
//! assert_eq!(tracker.tracked(), 0);
//! ```

mod exposition;
pub mod rebuild;
pub mod table;
mod tracker;

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Deserialize;

use crate::config::{ConfigError, duration};

pub use exposition::ConditionSeries;
pub use table::ConditionRule;
pub use tracker::{ConditionTracker, Signal};

/// What "now" is for the quiet period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConditionClock {
    /// The wall clock: a live source.
    #[default]
    Wall,
    /// The newest event time seen: a replay of history, where the wall clock would end
    /// every condition at once.
    Events,
}

/// `conditions:` config of the state gauges.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionConfig {
    /// Track conditions and export the two gauges. Default true.
    pub enabled: bool,
    /// An object whose failure events stop for this long leaves the condition.
    /// Default `15m`.
    #[serde(deserialize_with = "duration")]
    pub quiet_period: Duration,
    /// Namespaces with their own label value (the most objects in a condition first);
    /// the rest are `other`. Default 50.
    pub top_namespaces: usize,
    /// Kinds with their own label value; the rest are `other`. Default 20.
    pub top_kinds: usize,
    /// Series per gauge, whatever the cluster does: the smallest beyond it are merged
    /// into `{namespace="other",kind="other"}` of their condition. Default 500.
    pub max_series: usize,
    /// Objects (per condition) tracked at once; failures of further objects are
    /// counted in `kev_conditions_untracked_total`. Default 100000.
    pub max_objects: usize,
    /// Conditions of your own, on top of the built-in ones.
    pub extra: Vec<ConditionRule>,
    #[serde(skip)]
    pub clock: ConditionClock,
}

impl Default for ConditionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            quiet_period: Duration::from_secs(15 * 60),
            top_namespaces: 50,
            top_kinds: 20,
            max_series: 500,
            max_objects: 100_000,
            extra: Vec::new(),
            clock: ConditionClock::Wall,
        }
    }
}

impl ConditionConfig {
    /// Every problem, with its path under `conditions`.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut err = |path: String, message: &str| errors.push(ConfigError::new(path, message));
        if self.quiet_period.is_zero() {
            err("conditions.quiet_period".into(), "must be more than 0s");
        }
        let built_in = table::built_in().len();
        if self.max_series < built_in + self.extra.len() {
            err(
                "conditions.max_series".into(),
                "must leave room for one series per condition (built-in and extra)",
            );
        }
        if self.max_objects == 0 {
            err("conditions.max_objects".into(), "must be at least 1");
        }
        let mut names: Vec<String> = table::built_in().into_iter().map(|r| r.name).collect();
        for (i, rule) in self.extra.iter().enumerate() {
            let at = |field: &str| format!("conditions.extra[{i}].{field}");
            if rule.name.is_empty() {
                err(at("name"), "must not be empty");
            } else if names.contains(&rule.name) {
                err(at("name"), "is already a condition");
            }
            names.push(rule.name.clone());
            if rule.reasons.is_empty() || rule.reasons.iter().any(String::is_empty) {
                err(at("reasons"), "needs at least one reason, none empty");
            }
            if rule.recovery.iter().any(|r| rule.reasons.contains(r)) {
                err(at("recovery"), "a reason cannot both enter and end it");
            }
        }
        errors
    }
}
