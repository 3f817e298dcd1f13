//! [`Query`]: what `kev query` asks a [`crate::Store`] for.

use std::collections::HashMap;

use jiff::Timestamp;

use super::StoredEvent;
use crate::event::{Event, EventType};

/// Order of query results, by event time then sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// A query over stored events. Every `Some` field must match; `None` matches all.
///
/// ```
/// use kev_core::{Query, EventType};
/// let q = Query { namespace: Some("default".into()), r#type: Some(EventType::Warning), limit: Some(50), ..Default::default() };
/// assert!(q.limit.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    /// Involved object kind, compared case-insensitively (`pod` matches `Pod`).
    pub kind: Option<String>,
    /// Involved object name, exact.
    pub name: Option<String>,
    pub reason: Option<String>,
    pub r#type: Option<EventType>,
    /// Event time (last seen) at or after this.
    pub since: Option<Timestamp>,
    /// Event time (last seen) before this.
    pub until: Option<Timestamp>,
    pub reporting_controller: Option<String>,
    /// Substring of the message, case-sensitive.
    pub message_contains: Option<String>,
    pub order: Order,
    pub limit: Option<usize>,
    /// Only the latest stored version of each event (by uid), which carries its count.
    pub collapse: bool,
}

impl Query {
    /// True when `event` satisfies every filter of the query (not order, limit, collapse).
    pub fn matches(&self, event: &Event) -> bool {
        fn eq(want: &Option<String>, have: &str) -> bool {
            want.as_deref().is_none_or(|w| w == have)
        }
        let time = event.time();
        eq(&self.cluster, &event.cluster)
            && eq(&self.namespace, &event.namespace)
            && self
                .kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(&event.regarding.kind))
            && eq(&self.name, &event.regarding.name)
            && eq(&self.reason, &event.reason)
            && self.r#type.as_ref().is_none_or(|t| *t == event.r#type)
            && self.since.is_none_or(|s| time.is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| time.is_some_and(|t| t < u))
            && eq(&self.reporting_controller, &event.reporting_controller)
            && self
                .message_contains
                .as_deref()
                .is_none_or(|m| event.message.contains(m))
    }

    /// Applies collapse, order and limit to matching events given in sequence order.
    /// Backends that cannot do better in their indexes finish a query with this.
    pub fn finish(&self, mut events: Vec<StoredEvent>) -> Vec<StoredEvent> {
        if self.collapse {
            let mut latest: HashMap<&str, u64> = HashMap::new();
            for e in &events {
                let slot = latest.entry(e.event.uid.as_str()).or_insert(e.seq);
                *slot = (*slot).max(e.seq);
            }
            let keep: std::collections::HashSet<u64> = latest.into_values().collect();
            events.retain(|e| keep.contains(&e.seq));
        }
        events.sort_by_key(|e| (e.event.time(), e.seq));
        if self.order == Order::NewestFirst {
            events.reverse();
        }
        if let Some(limit) = self.limit {
            events.truncate(limit);
        }
        events
    }
}
