//! [`Summary`]: top reasons, top objects and events per hour of a [`Store`]'s events
//! (what `kev stats` shows), added up one event at a time, so that neither `kev stats`
//! nor the daemon answering it holds the events themselves (a week of a busy cluster is
//! hundreds of thousands).
//!
//! ```
//! use kev_core::store::summary::Summary;
//! use kev_core::{MemoryStore, Query};
//!
//! let store = MemoryStore::new();
//! let summary = Summary::of_query(&store, &Query::default()).unwrap();
//! let report = summary.report(10);
//! assert_eq!(report.events, 0);
//! ```

use std::collections::{BTreeMap, HashMap};

use super::{Store, StoreError};
use crate::event::Event;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Counts of the events seen so far.
#[derive(Debug, Default)]
pub struct Summary {
    events: u64,
    occurrences: u64,
    reasons: HashMap<(String, String), u64>,
    objects: HashMap<String, u64>,
    hours: BTreeMap<Timestamp, u64>,
}

/// A [`Summary`] with its `top` reasons and objects: the `/api/v1/summary` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryReport {
    pub events: u64,
    /// Events weighed by their `count`.
    pub occurrences: u64,
    /// Most occurrences first.
    pub reasons: Vec<ReasonCount>,
    /// Most occurrences first.
    pub objects: Vec<ObjectCount>,
    /// Events per hour of their last-seen time, oldest hour first.
    pub hours: Vec<HourCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub r#type: String,
    pub reason: String,
    pub occurrences: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCount {
    /// `namespace/kind/name`, or `kind/name` for cluster-scoped objects.
    pub object: String,
    pub occurrences: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: Timestamp,
    pub events: u64,
}

impl Summary {
    /// The summary of the results of `query` in `store`, read one by one.
    pub fn of_query(store: &dyn Store, query: &super::query::Query) -> Result<Self, StoreError> {
        let mut summary = Self::default();
        store.query_each(query, &mut |stored| {
            summary.add(&stored.event);
            true
        })?;
        Ok(summary)
    }

    /// Counts one event; occurrences weigh it by its `count` (its latest version's, when
    /// the query collapses), so an event that repeated 300 times weighs 300.
    pub fn add(&mut self, e: &Event) {
        let n = u64::from(e.count.max(1));
        self.events += 1;
        self.occurrences += n;
        *self
            .reasons
            .entry((e.r#type.to_string(), e.reason.clone()))
            .or_default() += n;
        let object = match e.namespace.as_str() {
            "" => e.regarding.kind_name(),
            ns => format!("{ns}/{}", e.regarding.kind_name()),
        };
        *self.objects.entry(object).or_default() += n;
        if let Some(t) = e.time() {
            let hour =
                Timestamp::from_second(t.as_second() - t.as_second().rem_euclid(3600)).unwrap_or(t);
            *self.hours.entry(hour).or_default() += 1;
        }
    }

    /// The report with the `top` reasons and objects (ties by name).
    pub fn report(self, top: usize) -> SummaryReport {
        SummaryReport {
            events: self.events,
            occurrences: self.occurrences,
            reasons: sorted(self.reasons, top)
                .into_iter()
                .map(|((r#type, reason), occurrences)| ReasonCount {
                    r#type,
                    reason,
                    occurrences,
                })
                .collect(),
            objects: sorted(self.objects, top)
                .into_iter()
                .map(|(object, occurrences)| ObjectCount {
                    object,
                    occurrences,
                })
                .collect(),
            hours: self
                .hours
                .into_iter()
                .map(|(hour, events)| HourCount { hour, events })
                .collect(),
        }
    }
}

fn sorted<K: Ord>(counts: HashMap<K, u64>, top: usize) -> Vec<(K, u64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(top);
    v
}
