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
    /// With `kind` and `name`: also the events of every object the named one owns or
    /// owned (whose owner chain names it), as `kev query --for`.
    pub owned: bool,
}

impl Query {
    /// True when `event` satisfies every filter of the query (not order, limit, collapse).
    pub fn matches(&self, event: &Event) -> bool {
        fn eq(want: &Option<String>, have: &str) -> bool {
            want.as_deref().is_none_or(|w| w == have)
        }
        let time = event.time();
        let object = |kind: &str, name: &str| {
            self.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(kind))
                && eq(&self.name, name)
        };
        let owned = self.owned
            && self.kind.is_some()
            && self.name.is_some()
            && event.owners.links.iter().any(|l| object(&l.kind, &l.name));
        eq(&self.cluster, &event.cluster)
            && eq(&self.namespace, &event.namespace)
            && (object(&event.regarding.kind, &event.regarding.name) || owned)
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

/// The matches of a query kept as `(time, seq)` only, for backends that scan more than
/// they return (collapse, or an index not in result order): memory grows with the
/// number of matches (or distinct uids), not with the size of their events. Gives the
/// same answer as [`Query::finish`].
///
/// ```
/// use kev_core::{Event, Query};
/// use kev_core::store::query::Matches;
/// let q = Query { collapse: true, ..Default::default() };
/// let mut m = Matches::new(&q);
/// let e = Event { uid: "u".into(), ..Default::default() };
/// m.push(&e, 1);
/// m.push(&e, 2);
/// assert_eq!(m.into_seqs(), vec![2]);
/// ```
#[derive(Debug)]
pub struct Matches<'q> {
    query: &'q Query,
    /// Collapse: uid → (time key, seq) of its latest matching version.
    latest: HashMap<Uid, ([u8; 12], u64)>,
    all: Vec<([u8; 12], u64)>,
}

/// A uid as a map key: 16 bytes for the usual RFC 4122 form (a collapse over a million
/// events keeps one per uid).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Uid {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl<'q> Matches<'q> {
    pub fn new(query: &'q Query) -> Self {
        Self {
            query,
            latest: HashMap::new(),
            all: Vec::new(),
        }
    }

    /// Records a matching event stored under `seq`.
    pub fn push(&mut self, event: &Event, seq: u64) {
        // The time key sorts like `Option<Timestamp>` in 12 bytes instead of 24.
        let entry = (super::index::time_key(event.time()), seq);
        if !self.query.collapse {
            self.all.push(entry);
            return;
        }
        let uid = match super::codec::parse_uuid(&event.uid) {
            Some(b) => Uid::Uuid(b),
            None => Uid::Text(event.uid.as_str().into()),
        };
        let slot = self.latest.entry(uid).or_insert(entry);
        if seq > slot.1 {
            *slot = entry;
        }
    }

    /// The seqs of the result, in result order, at most `limit`.
    pub fn into_seqs(self) -> Vec<u64> {
        let mut found = if self.query.collapse {
            self.latest.into_values().collect()
        } else {
            self.all
        };
        found.sort_unstable();
        if self.query.order == Order::NewestFirst {
            found.reverse();
        }
        if let Some(limit) = self.query.limit {
            found.truncate(limit);
        }
        found.into_iter().map(|(_, seq)| seq).collect()
    }
}
