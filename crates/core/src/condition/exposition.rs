//! The Prometheus text of the two state gauges, rendered at scrape time from the
//! tracker so that a condition that ended leaves no series behind.
//!
//! Label values are folded in three steps, each bounding the series count: namespaces
//! beyond the `top_namespaces` with the most objects in a condition become `other`,
//! kinds beyond `top_kinds` likewise, and if more than `max_series` series remain the
//! smallest are merged into `{namespace="other", kind="other"}` of their condition.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use jiff::Timestamp;

use super::tracker::ConditionTracker;
use crate::metrics as m;

/// One series of both gauges.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionSeries {
    pub namespace: String,
    pub kind: String,
    pub reason: String,
    /// `kev_objects_in_condition`.
    pub objects: u64,
    /// `kev_condition_seconds`: how long the oldest of them has been in it.
    pub seconds: f64,
}

const OTHER: &str = "other";

impl ConditionTracker {
    /// The series of the gauges now, sorted by reason, namespace and kind.
    pub fn series(&self) -> Vec<ConditionSeries> {
        let mut state = self.lock();
        let now = self.sweep(&mut state);
        let mut by_ns: HashMap<&str, u64> = HashMap::new();
        let mut by_kind: HashMap<&str, u64> = HashMap::new();
        for (key, _) in state.spans.keys() {
            *by_ns.entry(&key.namespace).or_default() += 1;
            *by_kind.entry(&key.kind).or_default() += 1;
        }
        let namespaces = top(by_ns, self.config.top_namespaces);
        let kinds = top(by_kind, self.config.top_kinds);

        let mut groups: HashMap<(&str, &str, u16), (u64, Timestamp)> = HashMap::new();
        for ((key, rule), span) in &state.spans {
            let ns = fold(&namespaces, &key.namespace);
            let kind = fold(&kinds, &key.kind);
            merge(
                groups.entry((ns, kind, *rule)).or_insert((0, span.since)),
                1,
                span.since,
            );
        }
        let mut rows: Vec<_> = groups.into_iter().collect();
        let max = self.config.max_series.max(self.rules.len());
        if rows.len() > max {
            // Largest first; the tail goes into one `other/other` series per condition,
            // which needs room of its own: at most one per condition.
            rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            let tail = rows.split_off(max - self.rules.len());
            let mut folded: HashMap<(&str, &str, u16), (u64, Timestamp)> =
                rows.into_iter().collect();
            for ((_, _, rule), (n, since)) in tail {
                merge(
                    folded.entry((OTHER, OTHER, rule)).or_insert((0, since)),
                    n,
                    since,
                );
            }
            rows = folded.into_iter().collect();
        }
        let mut out: Vec<ConditionSeries> = rows
            .into_iter()
            .map(|((ns, kind, rule), (objects, since))| ConditionSeries {
                namespace: ns.to_owned(),
                kind: kind.to_owned(),
                reason: self.rules[usize::from(rule)].name.clone(),
                objects,
                seconds: now.duration_since(since).as_secs_f64().max(0.0),
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.reason, &a.namespace, &a.kind).cmp(&(&b.reason, &b.namespace, &b.kind))
        });
        out
    }

    /// `kev_objects_in_condition` and `kev_condition_seconds` in the Prometheus text
    /// format, to append to the recorder's exposition.
    pub fn render(&self) -> String {
        let series = self.series();
        let mut out = String::with_capacity(128 + series.len() * 160);
        let families = [
            (
                m::OBJECTS_IN_CONDITION,
                "Objects currently in a failure condition, seen through their events.",
            ),
            (
                m::CONDITION_SECONDS,
                "How long the oldest object in the condition has been in it.",
            ),
        ];
        for (family, (name, help)) in families.into_iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for s in &series {
                let _ = write!(
                    out,
                    "{name}{{namespace=\"{}\",kind=\"{}\",reason=\"{}\"}} ",
                    escape(&s.namespace),
                    escape(&s.kind),
                    escape(&s.reason)
                );
                let _ = if family == 0 {
                    writeln!(out, "{}", s.objects)
                } else {
                    writeln!(out, "{:.3}", s.seconds)
                };
            }
        }
        out
    }
}

fn merge(group: &mut (u64, Timestamp), n: u64, since: Timestamp) {
    group.0 += n;
    group.1 = group.1.min(since);
}

/// The `limit` values with the most objects (ties by name, so the choice is stable).
fn top(counts: HashMap<&str, u64>, limit: usize) -> HashSet<&str> {
    let mut all: Vec<(&str, u64)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    all.into_iter().take(limit).map(|(v, _)| v).collect()
}

fn fold<'a>(kept: &HashSet<&'a str>, value: &'a str) -> &'a str {
    if !value.is_empty() && kept.contains(value) {
        value
    } else {
        OTHER
    }
}

/// Label value escaping of the text format: backslash, double quote, newline.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}
