//! [`model_test`]: random sequences of operations applied to a backend and to
//! [`MemoryStore`] must give identical answers.
//!
//! Retention by `max_bytes` is left out: each backend counts its own encoding's bytes.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::{StoreFactory, at, event};
use crate::event::EventType;
use crate::store::{Checkpoint, MemoryStore, Order, Query, Retention, Store, StoredEvent};

/// One step of a model run.
#[derive(Debug, Clone)]
pub enum Op {
    Append {
        events: Vec<EventSpec>,
        checkpoint: Option<(u8, u16)>,
    },
    Query(QuerySpec),
    ReadLog {
        from: u64,
        limit: usize,
    },
    Compact {
        max_events: Option<u64>,
        max_age_secs: Option<u64>,
        hard_max_events: Option<u64>,
        remember_secs: Option<u64>,
        now_secs: i64,
        max_remove: u64,
    },
    CommitCursor {
        route: u8,
        seq: u64,
    },
    Reopen,
}

/// An event drawn from small domains, so that filters and dedup hit often.
#[derive(Debug, Clone)]
pub struct EventSpec {
    uid: u8,
    rv: u8,
    ns: u8,
    kind: u8,
    name: u8,
    warning: bool,
    secs: Option<i64>,
}

/// A query drawn from the same domains.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    ns: Option<u8>,
    kind: Option<u8>,
    name: Option<u8>,
    warning: Option<bool>,
    since: Option<i64>,
    until: Option<i64>,
    message: Option<u8>,
    newest_first: bool,
    limit: Option<usize>,
    collapse: bool,
}

const NAMESPACES: [&str; 3] = ["default", "kube-system", "prod"];
const KINDS: [&str; 4] = ["Pod", "Node", "pod", "Deployment"];
const QUERY_KINDS: [&str; 3] = ["pod", "NODE", "deployment"];
const NAMES: [&str; 3] = ["web", "web-0", "db"];

impl EventSpec {
    fn build(&self) -> crate::Event {
        let mut e = event(
            &format!("u{}", self.uid),
            &self.rv.to_string(),
            NAMESPACES[usize::from(self.ns) % NAMESPACES.len()],
            KINDS[usize::from(self.kind) % KINDS.len()],
            NAMES[usize::from(self.name) % NAMES.len()],
            self.secs.unwrap_or(0),
        );
        if self.warning {
            e.r#type = EventType::Warning;
        }
        if self.secs.is_none() {
            e.first_seen = None;
            e.last_seen = None;
        }
        e
    }
}

impl QuerySpec {
    fn build(&self) -> Query {
        let pick =
            |i: Option<u8>, from: &[&str]| i.map(|i| from[usize::from(i) % from.len()].to_owned());
        Query {
            namespace: pick(self.ns, &NAMESPACES),
            kind: pick(self.kind, &QUERY_KINDS),
            name: pick(self.name, &NAMES),
            r#type: self.warning.map(|w| {
                if w {
                    EventType::Warning
                } else {
                    EventType::Normal
                }
            }),
            since: self.since.map(at),
            until: self.until.map(at),
            message_contains: self.message.map(|m| format!("version {m}")),
            order: if self.newest_first {
                Order::NewestFirst
            } else {
                Order::OldestFirst
            },
            limit: self.limit,
            collapse: self.collapse,
            ..Default::default()
        }
    }
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        0u8..12,
        0u8..3,
        0u8..3,
        0u8..4,
        0u8..3,
        any::<bool>(),
        prop::option::weighted(0.9, 0i64..200),
    )
        .prop_map(|(uid, rv, ns, kind, name, warning, secs)| EventSpec {
            uid,
            rv,
            ns,
            kind,
            name,
            warning,
            secs,
        })
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    (
        (
            prop::option::of(0u8..3),
            prop::option::of(0u8..3),
            prop::option::of(0u8..3),
            prop::option::of(any::<bool>()),
        ),
        (
            prop::option::of(0i64..200),
            prop::option::of(0i64..200),
            prop::option::weighted(0.2, 0u8..3),
            any::<bool>(),
            prop::option::of(0usize..6),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (ns, kind, name, warning),
                (since, until, message, newest_first, limit, collapse),
            )| {
                QuerySpec {
                    ns,
                    kind,
                    name,
                    warning,
                    since,
                    until,
                    message,
                    newest_first,
                    limit,
                    collapse,
                }
            },
        )
}

/// The strategy for one operation.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            prop::collection::vec(event_spec(), 0..8),
            prop::option::of((0u8..2, any::<u16>()))
        )
            .prop_map(|(events, checkpoint)| Op::Append { events, checkpoint }),
        3 => query_spec().prop_map(Op::Query),
        1 => (0u64..40, 0usize..10).prop_map(|(from, limit)| Op::ReadLog { from, limit }),
        2 => (
            prop::option::of(0u64..20),
            prop::option::of(0u64..150),
            prop::option::weighted(0.3, 0u64..25),
            prop::option::of(1u64..100),
            0i64..250,
            0u64..8
        )
            .prop_map(
                |(max_events, max_age_secs, hard_max_events, remember_secs, now_secs, max_remove)| {
                    Op::Compact {
                        max_events,
                        max_age_secs,
                        hard_max_events,
                        remember_secs,
                        now_secs,
                        max_remove,
                    }
                },
            ),
        2 => (0u8..3, 0u64..40).prop_map(|(route, seq)| Op::CommitCursor { route, seq }),
        1 => Just(Op::Reopen),
    ]
}

fn check_eq<T: PartialEq + std::fmt::Debug>(
    step: usize,
    op: &Op,
    got: T,
    want: T,
) -> Result<(), TestCaseError> {
    if got == want {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "step {step} {op:?}: backend gave {got:?}, model {want:?}"
        )))
    }
}

fn seqs_and_events(v: Vec<StoredEvent>) -> Vec<(u64, String)> {
    v.into_iter()
        .map(|e| (e.seq, e.event.idempotency_key().to_string()))
        .collect()
}

/// Applies `ops` to a fresh backend in `dir` and to a [`MemoryStore`]; the first
/// difference is an error naming the step.
pub fn run_ops<F: StoreFactory>(factory: &F, dir: &Path, ops: &[Op]) -> Result<(), TestCaseError> {
    let model = MemoryStore::new();
    let mut store = Some(factory.open(dir));
    for (step, op) in ops.iter().enumerate() {
        let s = match store.as_ref() {
            Some(s) => s,
            None => return Err(TestCaseError::fail("store missing")),
        };
        let fail =
            |e: crate::store::StoreError| TestCaseError::fail(format!("step {step} {op:?}: {e}"));
        match op {
            Op::Append { events, checkpoint } => {
                let batch: Vec<_> = events.iter().map(EventSpec::build).collect();
                let cp = checkpoint.map(|(src, pos)| Checkpoint {
                    source: format!("s{src}"),
                    position: pos.to_string(),
                });
                let got = s.append(&batch, cp.as_ref()).map_err(fail)?;
                let want = model.append(&batch, cp.as_ref()).map_err(fail)?;
                check_eq(step, op, got, want)?;
                for src in ["s0", "s1"] {
                    check_eq(
                        step,
                        op,
                        s.checkpoint(src).map_err(fail)?,
                        model.checkpoint(src).map_err(fail)?,
                    )?;
                }
            }
            Op::Query(spec) => {
                let q = spec.build();
                let got = s.query(&q).map_err(fail)?;
                let want = model.query(&q).map_err(fail)?;
                check_eq(
                    step,
                    op,
                    seqs_and_events(got.clone()),
                    seqs_and_events(want.clone()),
                )?;
                // One by one, the same results; stopped halfway, their first half.
                for stop in [usize::MAX, want.len().div_ceil(2)] {
                    let mut visited = Vec::new();
                    s.query_each(&q, &mut |e| {
                        visited.push(e);
                        visited.len() < stop
                    })
                    .map_err(fail)?;
                    check_eq(step, op, &visited[..], &want[..stop.min(want.len())])?;
                }
                check_eq(step, op, got, want)?;
            }
            Op::ReadLog { from, limit } => {
                check_eq(
                    step,
                    op,
                    s.read_log(*from, *limit).map_err(fail)?,
                    model.read_log(*from, *limit).map_err(fail)?,
                )?;
            }
            Op::Compact {
                max_events,
                max_age_secs,
                hard_max_events,
                remember_secs,
                now_secs,
                max_remove,
            } => {
                let r = Retention {
                    max_age: max_age_secs.map(Duration::from_secs),
                    max_events: *max_events,
                    hard_max_events: *hard_max_events,
                    remember_removed: remember_secs.map(Duration::from_secs),
                    ..Default::default()
                };
                let now = at(*now_secs);
                check_eq(
                    step,
                    op,
                    s.compact(&r, now, *max_remove).map_err(fail)?,
                    model.compact(&r, now, *max_remove).map_err(fail)?,
                )?;
            }
            Op::CommitCursor { route, seq } => {
                let route = format!("r{route}");
                s.commit_cursor(&route, *seq).map_err(fail)?;
                model.commit_cursor(&route, *seq).map_err(fail)?;
                check_eq(
                    step,
                    op,
                    s.cursors().map_err(fail)?,
                    model.cursors().map_err(fail)?,
                )?;
            }
            Op::Reopen => {
                if factory.persistent() {
                    drop(store.take());
                    store = Some(factory.open(dir));
                }
            }
        }
        let s = match store.as_ref() {
            Some(s) => s,
            None => return Err(TestCaseError::fail("store missing")),
        };
        let (got, want) = (s.stats().map_err(fail)?, model.stats().map_err(fail)?);
        check_eq(
            step,
            op,
            (got.events, got.first_seq, got.last_seq),
            (want.events, want.first_seq, want.last_seq),
        )?;
        check_eq(
            step,
            op,
            s.last_seq().map_err(fail)?,
            model.last_seq().map_err(fail)?,
        )?;
    }
    Ok(())
}

/// Runs `cases` random operation sequences (up to 40 steps each) against the backend;
/// panics with the shrunk failing sequence.
pub fn model_test<F: StoreFactory>(factory: &F, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        run_ops(factory, dir.path(), &ops)
    });
    if let Err(e) = result {
        panic!("model test failed: {e}");
    }
}
