//! [`Tracked`]: what kev knows of one policy (the generation its route was built from,
//! its route's counters, its `Ready` condition) and when its status is due to be written.

use std::time::Duration;

use super::crd::{ConditionStatus, EventPolicy, EventPolicyStatus, PolicyCondition};
use kev_core::pipeline::RouteStats;
use tokio::time::Instant;

/// One policy as the controller follows it.
#[derive(Debug)]
pub struct Tracked {
    pub uid: Option<String>,
    /// The generation the route (or the refusal) was made from.
    pub generation: Option<i64>,
    /// Shared with every route built for this policy, so counts survive a replacement.
    pub stats: RouteStats,
    /// The policy as last applied, to rebuild its route when its Secret changes.
    pub policy: Option<EventPolicy>,
    /// A hash of what its Secret read gave then (`None`: it names no Secret).
    pub secret: Option<u64>,
    /// The counters the status held when kev first saw the policy: totals go on
    /// across kev restarts.
    base: EventPolicyStatus,
    ready: Option<PolicyCondition>,
    written: Option<EventPolicyStatus>,
    last_write: Option<Instant>,
}

impl Tracked {
    pub fn new(policy: &EventPolicy) -> Self {
        let status = policy.status.clone().unwrap_or_default();
        Self {
            uid: policy.metadata.uid.clone(),
            generation: None,
            stats: RouteStats::default(),
            policy: None,
            secret: None,
            ready: status
                .conditions
                .iter()
                .find(|c| c.r#type == "Ready")
                .cloned(),
            written: policy.status.clone(),
            base: status,
            last_write: None,
        }
    }

    /// Sets `Ready`; its transition time moves only when its status changes.
    pub fn set_ready(&mut self, status: ConditionStatus, reason: &str, message: String) {
        let since = match &self.ready {
            Some(c) if c.status == status => c.last_transition_time.clone(),
            _ => now(),
        };
        self.ready = Some(PolicyCondition {
            r#type: "Ready".into(),
            status,
            reason: reason.into(),
            message,
            last_transition_time: since,
            observed_generation: self.generation,
        });
    }

    /// The status as it should be now.
    pub fn desired(&self) -> EventPolicyStatus {
        let s = self.stats.snapshot();
        let count = |base: i64, n: u64| base.saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
        EventPolicyStatus {
            last_processed_event: s
                .last_matched
                .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
                .or_else(|| self.base.last_processed_event.clone()),
            total_events_processed: count(self.base.total_events_processed, s.matched),
            successful_deliveries: count(self.base.successful_deliveries, s.delivered),
            failed_deliveries: count(self.base.failed_deliveries, s.dead_lettered),
            rate_limited: count(self.base.rate_limited, s.limited + s.cooled_down),
            observed_generation: self.generation,
            conditions: self.ready.iter().cloned().collect(),
        }
    }

    /// The status to write now: it changed, and the last write is `interval` old.
    pub fn due(&self, now: Instant, interval: Duration) -> Option<EventPolicyStatus> {
        if self.last_write.is_some_and(|at| now < at + interval) {
            return None;
        }
        let desired = self.desired();
        (self.written.as_ref() != Some(&desired)).then_some(desired)
    }

    /// Records a write attempt at `now` (successful when `status` is given).
    pub fn wrote(&mut self, status: Option<EventPolicyStatus>, now: Instant) {
        if status.is_some() {
            self.written = status;
        }
        self.last_write = Some(now);
    }
}

fn now() -> String {
    let t = jiff::Timestamp::now();
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unwrap_used)] // a test helper
    fn policy() -> EventPolicy {
        let spec = serde_norway::from_str(
            "eventSelectors: [{}]\ntarget: {kind: webhook, endpoint: 'http://h/'}",
        )
        .unwrap();
        let mut p = EventPolicy::new("p", spec);
        p.status = Some(EventPolicyStatus {
            total_events_processed: 40,
            ..Default::default()
        });
        p
    }

    #[test]
    fn a_change_is_due_once_per_interval_and_counts_add_to_the_old_status() {
        let mut t = Tracked::new(&policy());
        let start = Instant::now();
        let interval = Duration::from_secs(10);
        assert!(t.due(start, interval).is_none(), "nothing changed yet");
        t.generation = Some(2);
        t.set_ready(ConditionStatus::True, "RouteRunning", "ok".into());
        let first = t.due(start, interval).unwrap();
        assert_eq!(first.total_events_processed, 40);
        assert_eq!(first.observed_generation, Some(2));
        assert_eq!(first.conditions[0].observed_generation, Some(2));
        t.wrote(Some(first.clone()), start);
        t.set_ready(ConditionStatus::True, "RouteRunning", "still ok".into());
        assert!(t.due(start + Duration::from_secs(9), interval).is_none());
        let second = t.due(start + interval, interval).unwrap();
        assert_eq!(
            second.conditions[0].last_transition_time, first.conditions[0].last_transition_time,
            "same status: the transition time stays"
        );
    }
}
