//! The [`crate::Store`] conformance suite: [`store_conformance_tests!`](crate::store_conformance_tests)
//! generates one `#[test]` per check for a backend's [`StoreFactory`].
//!
//! ```
//! use kev_core::testkit::store::Volatile;
//! use kev_core::MemoryStore;
//! kev_core::testkit::store::run_all(&Volatile(|_: &std::path::Path| MemoryStore::new()));
//! ```
//!
//! Every check panics with a message naming what the backend got wrong.

#[cfg(feature = "bench")]
pub mod bench;
pub mod crash;
pub mod metrics;
pub mod model;
pub mod workload;

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use crate::event::{Event, EventType, ObjectRef};
use crate::store::{Checkpoint, DeadLetter, Order, Query, Retention, Store, StoredEvent};

/// Opens the backend under test in a directory; called again with the same directory to
/// reopen it (after the previous store was dropped).
pub trait StoreFactory {
    type Store: Store;
    fn open(&self, dir: &Path) -> Self::Store;
    /// False for stores that forget everything when dropped: reopen checks are skipped.
    fn persistent(&self) -> bool;
}

/// A factory for a store kept on disk.
#[derive(Debug, Clone, Copy)]
pub struct Persistent<F>(pub F);

/// A factory for a store that lives in memory only (reopening gives an empty store).
#[derive(Debug, Clone, Copy)]
pub struct Volatile<F>(pub F);

impl<S: Store, F: Fn(&Path) -> S> StoreFactory for Persistent<F> {
    type Store = S;
    fn open(&self, dir: &Path) -> S {
        (self.0)(dir)
    }
    fn persistent(&self) -> bool {
        true
    }
}

impl<S: Store, F: Fn(&Path) -> S> StoreFactory for Volatile<F> {
    type Store = S;
    fn open(&self, dir: &Path) -> S {
        (self.0)(dir)
    }
    fn persistent(&self) -> bool {
        false
    }
}

/// A fixed point in time the suite's events are placed around.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `t0() + secs`.
pub fn at(secs: i64) -> Timestamp {
    t0() + jiff::SignedDuration::from_secs(secs)
}

/// A small event: `uid`/`rv`, in namespace `ns` about `kind/name`, last seen at `at(secs)`.
pub fn event(uid: &str, rv: &str, ns: &str, kind: &str, name: &str, secs: i64) -> Event {
    Event {
        cluster: "test".into(),
        namespace: ns.into(),
        name: format!("{name}.{uid}"),
        uid: uid.into(),
        resource_version: rv.into(),
        r#type: EventType::Normal,
        reason: "Started".into(),
        message: format!("event {uid} version {rv}"),
        regarding: ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            uid: format!("obj-{name}"),
            field_path: String::new(),
        },
        reporting_controller: "kubelet".into(),
        first_seen: Some(at(secs)),
        last_seen: Some(at(secs)),
        count: 1,
        ..Default::default()
    }
}

/// `n` distinct events `e1..=en` in namespace `default`, one second apart.
pub fn events(n: usize) -> Vec<Event> {
    (1..=n)
        .map(|i| event(&format!("e{i}"), "1", "default", "Pod", "p", i as i64))
        .collect()
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn checkpoint(source: &str, position: &str) -> Checkpoint {
    Checkpoint {
        source: source.into(),
        position: position.into(),
    }
}

fn all_log<S: Store>(store: &S) -> Vec<StoredEvent> {
    store.read_log(0, usize::MAX).unwrap()
}

/// A temporary directory for one check.
fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Stored events get 1, 2, 3…; repeats of a (uid, resourceVersion) already stored are
/// skipped and counted, and a new resourceVersion of the same uid is a new event.
pub fn append_assigns_seqs_and_dedups<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    assert_eq!(s.last_seq().unwrap(), 0, "a new store starts at seq 0");
    let out = s.append(&events(3), None).unwrap();
    assert_eq!((out.stored, out.duplicates, out.last_seq), (3, 0, 3));
    let mut again = events(3);
    again.push(event("e1", "2", "default", "Pod", "p", 9));
    let out = s.append(&again, None).unwrap();
    assert_eq!(
        (out.stored, out.duplicates, out.last_seq),
        (1, 3, 4),
        "re-appending stored events must skip them"
    );
    let log = all_log(&s);
    assert_eq!(seqs(&log), vec![1, 2, 3, 4]);
    assert_eq!(log[3].event, again[3], "stored event must round-trip");
    assert_eq!(log[0].event, events(1)[0]);
    let out = s.append(&[], None).unwrap();
    assert_eq!((out.stored, out.duplicates, out.last_seq), (0, 0, 4));
}

/// A batch that repeats an event stores it once.
pub fn append_dedups_within_one_batch<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    let e = event("u", "1", "default", "Pod", "p", 1);
    let mut other = e.clone();
    other.message = "same key, other message".into();
    let out = s.append(&[e.clone(), other, e.clone()], None).unwrap();
    assert_eq!((out.stored, out.duplicates, out.last_seq), (1, 2, 1));
    assert_eq!(all_log(&s)[0].event, e, "the first copy in a batch wins");
}

/// The checkpoint is written by the same call as its batch, per source; an append
/// without checkpoint leaves the checkpoints alone; a batch of duplicates still moves it.
pub fn checkpoint_is_written_with_its_batch<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    assert_eq!(s.checkpoint("a").unwrap(), None);
    s.append(&events(2), Some(&checkpoint("a", "rv-2")))
        .unwrap();
    s.append(&[], Some(&checkpoint("b", "offset-9"))).unwrap();
    s.append(&events(3), None).unwrap();
    assert_eq!(s.checkpoint("a").unwrap(), Some(checkpoint("a", "rv-2")));
    s.append(&events(2), Some(&checkpoint("a", "rv-3")))
        .unwrap();
    assert_eq!(
        s.checkpoint("a").unwrap(),
        Some(checkpoint("a", "rv-3")),
        "a batch of duplicates still moves the checkpoint"
    );
    assert_eq!(
        s.checkpoint("b").unwrap(),
        Some(checkpoint("b", "offset-9"))
    );
    assert_eq!(s.checkpoint("c").unwrap(), None);
    if f.persistent() {
        drop(s);
        let s = f.open(d.path());
        assert_eq!(s.checkpoint("a").unwrap(), Some(checkpoint("a", "rv-3")));
        assert_eq!(
            s.checkpoint("b").unwrap(),
            Some(checkpoint("b", "offset-9"))
        );
        assert_eq!(s.last_seq().unwrap(), 3);
    }
}

/// `read_log(from, limit)`: events with `seq >= from`, in order, at most `limit`.
pub fn read_log_from_and_limit<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    assert_eq!(seqs(&s.read_log(0, 3).unwrap()), vec![1, 2, 3]);
    assert_eq!(seqs(&s.read_log(4, 2).unwrap()), vec![4, 5]);
    assert_eq!(seqs(&s.read_log(9, 100).unwrap()), vec![9, 10]);
    assert!(s.read_log(11, 100).unwrap().is_empty());
    assert!(s.read_log(1, 0).unwrap().is_empty());
    let log = s.read_log(3, 1).unwrap();
    assert_eq!(log[0].event.uid, "e3");
}

/// Cursors: 0 until committed, then the committed value, listed by route, kept on reopen.
pub fn cursors_commit_read_list<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(5), None).unwrap();
    assert_eq!(s.cursor("web").unwrap(), 0);
    assert!(s.cursors().unwrap().is_empty());
    s.commit_cursor("web", 3).unwrap();
    s.commit_cursor("alerts", 1).unwrap();
    s.commit_cursor("web", 5).unwrap();
    assert_eq!(s.cursor("web").unwrap(), 5);
    let mut listed = s.cursors().unwrap();
    listed.sort();
    assert_eq!(listed, vec![("alerts".into(), 1), ("web".into(), 5)]);
    if f.persistent() {
        drop(s);
        let s = f.open(d.path());
        assert_eq!(s.cursor("web").unwrap(), 5);
        assert_eq!(s.cursor("alerts").unwrap(), 1);
    }
}

/// The events of the query checks, by index: (uid, rv, ns, kind, name, secs).
fn query_fixture() -> Vec<Event> {
    let mut v = vec![
        event("a", "1", "default", "Pod", "web-0", 10),
        event("b", "1", "default", "Node", "n1", 20),
        event("c", "1", "kube-system", "Pod", "dns", 30),
        event("d", "1", "default", "Pod", "web-1", 40),
        event("a", "2", "default", "Pod", "web-0", 50),
        event("e", "1", "other", "Deployment", "web", 60),
    ];
    v[1].r#type = EventType::Warning;
    v[1].reason = "NodeNotReady".into();
    v[1].message = "node n1 is not ready".into();
    v[2].reporting_controller = "coredns".into();
    v[3].cluster = "staging".into();
    v[3].r#type = EventType::Warning;
    v[4].count = 2;
    v[5].message = "Scaled up replica set web-7 to 3".into();
    v
}

/// Every filter of [`Query`] selects exactly the events it names.
pub fn query_each_filter<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&query_fixture(), None).unwrap();
    let run = |q: Query| {
        let mut got = seqs(
            &s.query(&Query {
                order: Order::OldestFirst,
                ..q.clone()
            })
            .unwrap(),
        );
        got.sort();
        (q, got)
    };
    let cases: Vec<(Query, Vec<u64>)> = vec![
        (Query::default(), vec![1, 2, 3, 4, 5, 6]),
        (
            Query {
                cluster: Some("staging".into()),
                ..Default::default()
            },
            vec![4],
        ),
        (
            Query {
                namespace: Some("default".into()),
                ..Default::default()
            },
            vec![1, 2, 4, 5],
        ),
        (
            Query {
                namespace: Some("nope".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            Query {
                kind: Some("pod".into()),
                ..Default::default()
            },
            vec![1, 3, 4, 5],
        ),
        (
            Query {
                kind: Some("POD".into()),
                name: Some("web-0".into()),
                ..Default::default()
            },
            vec![1, 5],
        ),
        (
            Query {
                name: Some("web".into()),
                ..Default::default()
            },
            vec![6],
        ),
        (
            Query {
                kind: Some("Pod".into()),
                namespace: Some("kube-system".into()),
                ..Default::default()
            },
            vec![3],
        ),
        (
            Query {
                reason: Some("NodeNotReady".into()),
                ..Default::default()
            },
            vec![2],
        ),
        (
            Query {
                r#type: Some(EventType::Warning),
                ..Default::default()
            },
            vec![2, 4],
        ),
        (
            Query {
                since: Some(at(30)),
                ..Default::default()
            },
            vec![3, 4, 5, 6],
        ),
        (
            Query {
                until: Some(at(30)),
                ..Default::default()
            },
            vec![1, 2],
        ),
        (
            Query {
                since: Some(at(20)),
                until: Some(at(50)),
                namespace: Some("default".into()),
                ..Default::default()
            },
            vec![2, 4],
        ),
        (
            Query {
                since: Some(at(15)),
                until: Some(at(55)),
                kind: Some("pod".into()),
                ..Default::default()
            },
            vec![3, 4, 5],
        ),
        (
            Query {
                since: Some(at(0)),
                until: Some(at(51)),
                kind: Some("pod".into()),
                name: Some("web-0".into()),
                ..Default::default()
            },
            vec![1, 5],
        ),
        (
            Query {
                reporting_controller: Some("coredns".into()),
                ..Default::default()
            },
            vec![3],
        ),
        (
            Query {
                message_contains: Some("replica set web".into()),
                ..Default::default()
            },
            vec![6],
        ),
        (
            Query {
                message_contains: Some("Replica".into()),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (q, want) in cases {
        let (q, got) = run(q);
        assert_eq!(got, want, "query {q:?}");
    }
}

/// Results come by (event time, seq), newest or oldest first, cut at `limit`; events
/// without a time sort first and are left out by `since`/`until`.
pub fn query_order_and_limit<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    let mut batch = vec![
        event("x", "1", "default", "Pod", "p", 30),
        event("y", "1", "default", "Pod", "p", 10),
        event("z", "1", "default", "Pod", "p", 20),
        event("w", "1", "default", "Pod", "p", 20),
        event("v", "1", "default", "Pod", "p", 0),
    ];
    batch[4].first_seen = None;
    batch[4].last_seen = None;
    s.append(&batch, None).unwrap();
    for base in [
        Query::default(),
        Query {
            namespace: Some("default".into()),
            ..Default::default()
        },
        Query {
            kind: Some("Pod".into()),
            ..Default::default()
        },
        Query {
            kind: Some("Pod".into()),
            name: Some("p".into()),
            ..Default::default()
        },
    ] {
        let oldest = Query {
            order: Order::OldestFirst,
            ..base.clone()
        };
        assert_eq!(
            seqs(&s.query(&oldest).unwrap()),
            vec![5, 2, 3, 4, 1],
            "{oldest:?}"
        );
        let newest = Query {
            order: Order::NewestFirst,
            ..base.clone()
        };
        assert_eq!(
            seqs(&s.query(&newest).unwrap()),
            vec![1, 4, 3, 2, 5],
            "{newest:?}"
        );
        let limited = Query {
            limit: Some(2),
            ..newest.clone()
        };
        assert_eq!(seqs(&s.query(&limited).unwrap()), vec![1, 4], "{limited:?}");
        let limited = Query {
            limit: Some(3),
            ..oldest.clone()
        };
        assert_eq!(
            seqs(&s.query(&limited).unwrap()),
            vec![5, 2, 3],
            "{limited:?}"
        );
        let zero = Query {
            limit: Some(0),
            ..oldest.clone()
        };
        assert!(s.query(&zero).unwrap().is_empty());
        let ranged = Query {
            since: Some(at(10)),
            until: Some(at(30)),
            ..oldest.clone()
        };
        assert_eq!(
            seqs(&s.query(&ranged).unwrap()),
            vec![2, 3, 4],
            "{ranged:?}"
        );
    }
}

/// `collapse` keeps the latest stored version of each uid among the matching events.
pub fn query_collapse_keeps_latest_version<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    let mut a2 = event("a", "2", "default", "Pod", "p", 40);
    a2.count = 2;
    let mut a3 = event("a", "3", "default", "Pod", "p", 50);
    a3.count = 3;
    s.append(
        &[
            event("a", "1", "default", "Pod", "p", 10),
            event("b", "1", "default", "Pod", "q", 20),
            a2,
            event("c", "1", "other", "Pod", "p", 30),
            a3.clone(),
        ],
        None,
    )
    .unwrap();
    let q = Query {
        collapse: true,
        order: Order::NewestFirst,
        ..Default::default()
    };
    let got = s.query(&q).unwrap();
    assert_eq!(seqs(&got), vec![5, 4, 2]);
    assert_eq!(
        got[0].event, a3,
        "collapse keeps the latest version, with its count"
    );
    let q = Query {
        collapse: true,
        namespace: Some("default".into()),
        limit: Some(1),
        order: Order::OldestFirst,
        ..Default::default()
    };
    assert_eq!(seqs(&s.query(&q).unwrap()), vec![2]);
    let q = Query {
        collapse: true,
        until: Some(at(45)),
        order: Order::OldestFirst,
        ..Default::default()
    };
    assert_eq!(
        seqs(&s.query(&q).unwrap()),
        vec![2, 4, 3],
        "collapse applies to the matching events only"
    );
}

fn delivered_retention() -> Retention {
    Retention::default()
}

/// `max_events` removes the oldest, but only what every route's cursor has passed.
pub fn retention_max_events_waits_for_lagging_cursor<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    s.commit_cursor("fast", 10).unwrap();
    s.commit_cursor("slow", 3).unwrap();
    let r = Retention {
        max_events: Some(4),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!(
        (out.removed, out.evicted_undelivered, out.more),
        (3, 0, false)
    );
    assert_eq!(
        seqs(&all_log(&s))[0],
        4,
        "the slow route has not delivered seq 4"
    );
    s.commit_cursor("slow", 10).unwrap();
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!((out.removed, out.evicted_undelivered), (3, 0));
    assert_eq!(seqs(&all_log(&s)), vec![7, 8, 9, 10]);
    let st = s.stats().unwrap();
    assert_eq!((st.events, st.first_seq, st.last_seq), (4, 7, 10));
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!(out.removed, 0, "nothing more to remove");
}

/// With no route at all, everything counts as delivered.
pub fn retention_without_routes_removes_freely<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(5), None).unwrap();
    let r = Retention {
        max_events: Some(2),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!((out.removed, out.evicted_undelivered), (3, 0));
    assert_eq!(seqs(&all_log(&s)), vec![4, 5]);
}

/// `max_age` removes events last seen before `now - max_age`.
pub fn retention_max_age<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    s.commit_cursor("r", 10).unwrap();
    let r = Retention {
        max_age: Some(Duration::from_secs(5)),
        ..delivered_retention()
    };
    // now = at(12): horizon at(7); events 1..=6 are older.
    let out = s.compact(&r, at(12), 100).unwrap();
    assert_eq!(out.removed, 6);
    assert_eq!(seqs(&all_log(&s)), vec![7, 8, 9, 10]);
    let q = s.query(&Query::default()).unwrap();
    assert_eq!(q.len(), 4, "compacted events are gone from the indexes too");
}

/// `max_bytes` removes the oldest until the encoded events fit.
pub fn retention_max_bytes<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    let before = s.stats().unwrap();
    assert!(before.bytes > 0, "stats must count encoded bytes");
    s.commit_cursor("r", 10).unwrap();
    let r = Retention {
        max_bytes: Some(before.bytes - 1),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!(out.removed, 1, "one event less fits");
    let limit = before.bytes / 2;
    let r = Retention {
        max_bytes: Some(limit),
        ..delivered_retention()
    };
    s.compact(&r, at(100), 100).unwrap();
    let after = s.stats().unwrap();
    assert!(after.bytes <= limit, "{after:?} over {limit}");
    assert!(after.events >= 4 && after.events <= 5, "{after:?}");
    assert_eq!(after.first_seq, 11 - after.events);
    assert_eq!(all_log(&s).len() as u64, after.events);
}

/// Hard caps remove undelivered events and count them; soft limits alone do not.
pub fn hard_cap_evicts_undelivered<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    s.commit_cursor("slow", 2).unwrap();
    let r = Retention {
        max_events: Some(3),
        hard_max_events: Some(6),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!(
        (out.removed, out.evicted_undelivered),
        (4, 2),
        "2 delivered removed by the soft limit, 2 undelivered evicted by the hard cap"
    );
    assert_eq!(seqs(&all_log(&s)), vec![5, 6, 7, 8, 9, 10]);
    let bytes = s.stats().unwrap().bytes;
    let r = Retention {
        hard_max_bytes: Some(bytes - 1),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!((out.removed, out.evicted_undelivered), (1, 1));
    assert_eq!(
        s.cursor("slow").unwrap(),
        2,
        "eviction does not move cursors"
    );
}

/// A step removes at most `max_remove` and says whether more is left.
pub fn compaction_is_bounded<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    let r = Retention {
        max_events: Some(1),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 4).unwrap();
    assert_eq!((out.removed, out.more), (4, true));
    let out = s.compact(&r, at(100), 4).unwrap();
    assert_eq!((out.removed, out.more), (4, true));
    let out = s.compact(&r, at(100), 4).unwrap();
    assert_eq!((out.removed, out.more), (1, false));
    let out = s.compact(&r, at(100), 0).unwrap();
    assert_eq!((out.removed, out.more), (0, false));
    assert_eq!(seqs(&all_log(&s)), vec![10]);
}

/// Sequence numbers are never reused: not after compaction, not after reopen, not after
/// the log was emptied.
pub fn seq_never_reused<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(5), None).unwrap();
    let all = Retention {
        max_events: Some(0),
        ..delivered_retention()
    };
    let out = s.compact(&all, at(100), 100).unwrap();
    assert_eq!(out.removed, 5);
    let st = s.stats().unwrap();
    assert_eq!(
        (st.events, st.bytes, st.first_seq, st.last_seq),
        (0, 0, 0, 5)
    );
    assert_eq!(s.last_seq().unwrap(), 5);
    let out = s
        .append(&[event("n1", "1", "default", "Pod", "p", 1)], None)
        .unwrap();
    assert_eq!(out.last_seq, 6);
    if f.persistent() {
        s.compact(&all, at(100), 100).unwrap();
        drop(s);
        let s = f.open(d.path());
        assert_eq!(s.last_seq().unwrap(), 6, "last_seq survives an empty log");
        let out = s
            .append(&[event("n2", "1", "default", "Pod", "p", 1)], None)
            .unwrap();
        assert_eq!(out.last_seq, 7);
        assert_eq!(seqs(&all_log(&s)), vec![7]);
    }
}

/// Once compacted away, an event's key is forgotten: the dedup index is bounded by
/// retention, so a re-listed old event is stored again (with a new seq).
pub fn compaction_forgets_dedup_keys<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(3), None).unwrap();
    let r = Retention {
        max_events: Some(2),
        ..delivered_retention()
    };
    assert_eq!(s.compact(&r, at(100), 100).unwrap().removed, 1);
    let out = s.append(&events(3), None).unwrap();
    assert_eq!((out.stored, out.duplicates, out.last_seq), (1, 2, 4));
    assert_eq!(all_log(&s)[2].event.uid, "e1");
}

/// With `remember_removed`, a removed event sent again is a duplicate until its key is
/// forgotten (its removal time + the setting, or the count cap), also across a reopen.
pub fn compaction_remembers_removed_keys<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    s.commit_cursor("r", 10).unwrap();
    let r = Retention {
        max_events: Some(4),
        remember_removed: Some(Duration::from_secs(100)),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(1_000), 100).unwrap();
    assert_eq!((out.removed, out.forgotten), (6, 0));
    let out = s.append(&events(10), None).unwrap();
    assert_eq!(
        (out.stored, out.duplicates),
        (0, 10),
        "removed events sent again must not be stored again"
    );
    let s = if f.persistent() {
        drop(s);
        f.open(d.path())
    } else {
        s
    };
    let out = s.compact(&r, at(1_099), 2).unwrap();
    assert_eq!((out.removed, out.forgotten), (0, 0), "kept for 100 s");
    let out = s.compact(&r, at(1_100), 4).unwrap();
    assert_eq!(
        (out.forgotten, out.more),
        (4, true),
        "forgetting is bounded by max_remove"
    );
    let out = s.compact(&r, at(1_100), 4).unwrap();
    assert_eq!((out.forgotten, out.more), (2, false));
    let out = s.append(&events(10), None).unwrap();
    assert_eq!(
        (out.stored, out.duplicates),
        (6, 4),
        "forgotten keys are new again"
    );
    assert_eq!(s.stats().unwrap().last_seq, 16);
    // Turning the setting off forgets what is held.
    s.commit_cursor("r", 16).unwrap();
    let off = Retention {
        max_events: Some(4),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(2_000), 100).unwrap();
    assert_eq!((out.removed, out.forgotten), (6, 0));
    let out = s.compact(&off, at(2_000), 100).unwrap();
    assert_eq!((out.removed, out.forgotten), (0, 6));
}

fn letter(route: &str, seq: u64) -> DeadLetter {
    DeadLetter {
        id: 0,
        route: route.into(),
        sink: "webhook".into(),
        seq,
        error: format!("HTTP 400 for seq {seq}"),
        at: at(seq as i64),
        event: event(&format!("e{seq}"), "1", "default", "Pod", "p", seq as i64),
    }
}

/// Dead letters come back oldest first, by route or all, at most `limit`.
pub fn dead_letters_are_kept<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    assert!(s.dead_letters(None, 10).unwrap().is_empty());
    for (route, seq) in [("a", 1), ("b", 2), ("a", 3), ("a", 4)] {
        s.dead_letter(&letter(route, seq)).unwrap();
    }
    let check = |s: &F::Store| {
        let all = s.dead_letters(None, 10).unwrap();
        assert_eq!(
            all.iter().map(|l| l.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            all.iter().map(|l| l.id).collect::<Vec<_>>(),
            vec![1, 2, 3, 4],
            "ids are assigned in insertion order"
        );
        assert_eq!(all[1], held(2, letter("b", 2)));
        let a = s.dead_letters(Some("a"), 2).unwrap();
        assert_eq!(a, vec![held(1, letter("a", 1)), held(3, letter("a", 3))]);
        assert!(s.dead_letters(Some("zzz"), 10).unwrap().is_empty());
    };
    check(&s);
    if f.persistent() {
        drop(s);
        check(&f.open(d.path()));
    }
}

fn held(id: u64, letter: DeadLetter) -> DeadLetter {
    DeadLetter { id, ..letter }
}

/// Removing dead letters by id takes those (and only those) in one call, returns them,
/// skips ids no longer held, and never reuses an id; updating one changes its error and
/// time only.
pub fn dead_letters_removed_and_updated<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    for (route, seq) in [("a", 1), ("b", 2), ("a", 3)] {
        s.dead_letter(&letter(route, seq)).unwrap();
    }
    let removed = s.remove_dead_letters(&[3, 1, 99]).unwrap();
    assert_eq!(
        removed,
        vec![held(3, letter("a", 3)), held(1, letter("a", 1))],
        "the removed letters, in the order asked, unknown ids skipped"
    );
    assert!(s.remove_dead_letters(&[1]).unwrap().is_empty());
    let again = DeadLetter {
        error: "HTTP 401 again".into(),
        at: at(500),
        // Only the error and the time change.
        route: "other".into(),
        ..held(2, letter("b", 2))
    };
    assert!(s.update_dead_letter(&again).unwrap());
    assert!(!s.update_dead_letter(&held(1, letter("a", 1))).unwrap());
    s.dead_letter(&letter("a", 4)).unwrap();
    let check = |s: &F::Store| {
        let left = s.dead_letters(None, 10).unwrap();
        let updated = DeadLetter {
            error: "HTTP 401 again".into(),
            at: at(500),
            ..held(2, letter("b", 2))
        };
        assert_eq!(
            left,
            vec![updated, held(4, letter("a", 4))],
            "ids are not reused"
        );
    };
    check(&s);
    if f.persistent() {
        drop(s);
        check(&f.open(d.path()));
    }
}

/// A held dead letter keeps its event in the log against the soft limits, like an
/// undelivered one, although every cursor passed it; once removed, the event may go.
pub fn retention_waits_for_dead_letters<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    s.append(&events(10), None).unwrap();
    s.commit_cursor("r", 10).unwrap();
    s.dead_letter(&letter("r", 4)).unwrap();
    s.dead_letter(&letter("r", 6)).unwrap();
    let r = Retention {
        max_events: Some(2),
        ..delivered_retention()
    };
    let out = s.compact(&r, at(100), 100).unwrap();
    assert_eq!((out.removed, out.evicted_undelivered), (3, 0));
    assert_eq!(seqs(&all_log(&s))[0], 4, "seq 4 is dead-lettered");
    s.remove_dead_letters(&[1]).unwrap();
    assert_eq!(s.compact(&r, at(100), 100).unwrap().removed, 2);
    assert_eq!(seqs(&all_log(&s))[0], 6, "seq 6 is dead-lettered");
    s.remove_dead_letters(&[2]).unwrap();
    assert_eq!(s.compact(&r, at(100), 100).unwrap().removed, 3);
    assert_eq!(seqs(&all_log(&s)), vec![9, 10]);
    // A hard cap still evicts, and counts it as undelivered.
    s.dead_letter(&letter("r", 9)).unwrap();
    let hard = Retention {
        hard_max_events: Some(1),
        ..delivered_retention()
    };
    let out = s.compact(&hard, at(100), 100).unwrap();
    assert_eq!((out.removed, out.evicted_undelivered), (1, 1));
    assert_eq!(
        s.dead_letters(None, 10).unwrap().len(),
        1,
        "the letter keeps its event"
    );
}

/// State: absent until put, last put wins, namespaces are separate.
pub fn state_get_put<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    assert_eq!(s.get_state("cooldown", "k").unwrap(), None);
    s.put_state("cooldown", "k", b"1").unwrap();
    s.put_state("cooldown", "k", b"22").unwrap();
    s.put_state("remedy", "k", b"").unwrap();
    s.put_state("cooldown", "k2", &[0, 255]).unwrap();
    let check = |s: &F::Store| {
        assert_eq!(s.get_state("cooldown", "k").unwrap(), Some(b"22".to_vec()));
        assert_eq!(s.get_state("remedy", "k").unwrap(), Some(Vec::new()));
        assert_eq!(s.get_state("cooldown", "k2").unwrap(), Some(vec![0, 255]));
        assert_eq!(s.get_state("remedy", "k2").unwrap(), None);
    };
    check(&s);
    if f.persistent() {
        drop(s);
        check(&f.open(d.path()));
    }
}

/// Closing and reopening keeps the log, indexes, stats and dedup keys.
pub fn reopen_keeps_everything<F: StoreFactory>(f: &F) {
    if !f.persistent() {
        return;
    }
    let d = dir();
    let s = f.open(d.path());
    s.append(&query_fixture(), Some(&checkpoint("w", "7")))
        .unwrap();
    let stats = s.stats().unwrap();
    let log = all_log(&s);
    drop(s);
    let s = f.open(d.path());
    assert_eq!(s.stats().unwrap(), stats);
    assert_eq!(all_log(&s), log);
    let q = Query {
        namespace: Some("default".into()),
        order: Order::OldestFirst,
        ..Default::default()
    };
    assert_eq!(seqs(&s.query(&q).unwrap()), vec![1, 2, 4, 5]);
    let out = s.append(&query_fixture(), None).unwrap();
    assert_eq!(
        (out.stored, out.duplicates),
        (0, 6),
        "dedup keys survive reopen"
    );
}

/// `stats`: events, encoded bytes, first and last seq.
pub fn stats_follow_the_log<F: StoreFactory>(f: &F) {
    let d = dir();
    let s = f.open(d.path());
    assert_eq!(s.stats().unwrap(), crate::store::StoreStats::default());
    s.append(&events(3), None).unwrap();
    let st = s.stats().unwrap();
    assert_eq!((st.events, st.first_seq, st.last_seq), (3, 1, 3));
    assert!(st.bytes > 0);
    s.append(&events(4), None).unwrap();
    let st2 = s.stats().unwrap();
    assert_eq!((st2.events, st2.first_seq, st2.last_seq), (4, 1, 4));
    assert!(st2.bytes > st.bytes);
}

/// Each event's owner chain comes back from the log and from queries, uids and the
/// inferred flag included, and after a reopen.
pub fn owner_chains_are_kept<F: StoreFactory>(f: &F) {
    use crate::owners::{OwnerChain, OwnerLink};
    let d = dir();
    let s = f.open(d.path());
    let mut resolved = event("o1", "1", "shop", "Pod", "web-7d4b9c8f6-x2x4z", 1);
    resolved.owners = OwnerChain {
        links: vec![
            OwnerLink {
                uid: "5c3e0d1a-2b4f-4c6d-8e9f-0a1b2c3d4e5f".into(),
                ..OwnerLink::new("ReplicaSet", "web-7d4b9c8f6")
            },
            OwnerLink {
                uid: "deploy-web".into(),
                ..OwnerLink::new("Deployment", "web")
            },
        ],
        inferred: false,
    };
    let mut inferred = event("o2", "1", "shop", "Pod", "db-0", 2);
    inferred.owners = OwnerChain {
        links: vec![OwnerLink::new("StatefulSet", "db")],
        inferred: true,
    };
    let alone = event("o3", "1", "", "Node", "node-1", 3);
    let all = vec![resolved, inferred, alone];
    s.append(&all, None).unwrap();
    let check = |s: &F::Store| {
        let log: Vec<Event> = all_log(s).into_iter().map(|e| e.event).collect();
        assert_eq!(log, all);
        let q = Query {
            namespace: Some("shop".into()),
            order: Order::OldestFirst,
            ..Default::default()
        };
        let found: Vec<OwnerChain> = s
            .query(&q)
            .unwrap()
            .into_iter()
            .map(|e| e.event.owners)
            .collect();
        assert_eq!(found, [all[0].owners.clone(), all[1].owners.clone()]);
    };
    check(&s);
    if f.persistent() {
        drop(s);
        check(&f.open(d.path()));
    }
}

/// `owned`: a Deployment's query finds its own events and those of every ReplicaSet and
/// Pod whose chain names it, in time order, within the window; without `owned` only its
/// own; another Deployment's are not mixed in; retention removes the owned entries too.
pub fn query_owned_follows_owner_chains<F: StoreFactory>(f: &F) {
    use crate::owners::{OwnerChain, OwnerLink};
    let d = dir();
    let s = f.open(d.path());
    let chain = |links: &[(&str, &str)]| OwnerChain {
        links: links.iter().map(|(k, n)| OwnerLink::new(k, n)).collect(),
        inferred: true,
    };
    let mut all = Vec::new();
    let mut push = |uid: &str, kind: &str, name: &str, secs: i64, owners: OwnerChain| {
        let mut e = event(uid, "1", "shop", kind, name, secs);
        e.owners = owners;
        all.push(e);
    };
    let web = [("ReplicaSet", "web-7d4b9c8f6"), ("Deployment", "web")];
    push("d", "Deployment", "web", 1, OwnerChain::default());
    push("rs", "ReplicaSet", "web-7d4b9c8f6", 2, chain(&web[1..]));
    push("p1", "Pod", "web-7d4b9c8f6-x2x4z", 3, chain(&web));
    push(
        "other",
        "Pod",
        "api-5f6b8d9c47-qwxzr",
        4,
        chain(&[("ReplicaSet", "api-5f6b8d9c47"), ("Deployment", "api")]),
    );
    push(
        "p2",
        "Pod",
        "web-6c5d4b3a29-bcdfg",
        5,
        chain(&[("ReplicaSet", "web-6c5d4b3a29"), ("Deployment", "web")]),
    );
    push(
        "late",
        "Pod",
        "web-6c5d4b3a29-zzzzz",
        50,
        chain(&[("ReplicaSet", "web-6c5d4b3a29"), ("Deployment", "web")]),
    );
    s.append(&all, None).unwrap();
    let uids = |q: &Query| -> Vec<String> {
        s.query(q)
            .unwrap()
            .into_iter()
            .map(|e| e.event.uid)
            .collect()
    };
    let q = Query {
        kind: Some("deployment".into()),
        name: Some("web".into()),
        until: Some(at(10)),
        owned: true,
        order: Order::OldestFirst,
        ..Default::default()
    };
    assert_eq!(uids(&q), ["d", "rs", "p1", "p2"]);
    assert_eq!(
        uids(&Query {
            owned: false,
            ..q.clone()
        }),
        ["d"]
    );
    let rs = Query {
        kind: Some("ReplicaSet".into()),
        name: Some("web-6c5d4b3a29".into()),
        until: None,
        ..q.clone()
    };
    assert_eq!(uids(&rs), ["p2", "late"]);
    assert_eq!(
        uids(&Query {
            namespace: Some("other".into()),
            ..q.clone()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        uids(&Query {
            order: Order::NewestFirst,
            limit: Some(2),
            until: None,
            ..q.clone()
        }),
        ["late", "p2"]
    );
    // Retention removes the events and their owner entries: nothing dangles.
    let r = Retention {
        max_events: Some(1),
        ..delivered_retention()
    };
    s.compact(&r, at(100), 100).unwrap();
    assert_eq!(uids(&Query { until: None, ..q }), ["late"]);
}

/// Generates one `#[test]` per conformance check, for a [`StoreFactory`] expression.
///
/// ```
/// use kev_core::{MemoryStore, testkit::store::Volatile};
/// // A persistent backend passes `Persistent(|dir: &Path| open(dir))` instead.
/// kev_core::store_conformance_tests!(Volatile(|_: &std::path::Path| MemoryStore::new()));
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::__store_conformance_tests!($factory;
            append_assigns_seqs_and_dedups,
            append_dedups_within_one_batch,
            checkpoint_is_written_with_its_batch,
            read_log_from_and_limit,
            cursors_commit_read_list,
            query_each_filter,
            query_order_and_limit,
            query_collapse_keeps_latest_version,
            retention_max_events_waits_for_lagging_cursor,
            retention_without_routes_removes_freely,
            retention_max_age,
            retention_max_bytes,
            hard_cap_evicts_undelivered,
            compaction_is_bounded,
            seq_never_reused,
            compaction_forgets_dedup_keys,
            compaction_remembers_removed_keys,
            dead_letters_are_kept,
            dead_letters_removed_and_updated,
            retention_waits_for_dead_letters,
            state_get_put,
            reopen_keeps_everything,
            stats_follow_the_log,
            owner_chains_are_kept,
            query_owned_follows_owner_chains
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_tests {
    ($factory:expr; $($check:ident),+) => {
        $(
            #[test]
            fn $check() {
                $crate::testkit::store::$check(&$factory);
            }
        )+
    };
}

/// Runs every check in one go.
pub fn run_all<F: StoreFactory>(f: &F) {
    append_assigns_seqs_and_dedups(f);
    append_dedups_within_one_batch(f);
    checkpoint_is_written_with_its_batch(f);
    read_log_from_and_limit(f);
    cursors_commit_read_list(f);
    query_each_filter(f);
    query_order_and_limit(f);
    query_collapse_keeps_latest_version(f);
    retention_max_events_waits_for_lagging_cursor(f);
    retention_without_routes_removes_freely(f);
    retention_max_age(f);
    retention_max_bytes(f);
    hard_cap_evicts_undelivered(f);
    compaction_is_bounded(f);
    seq_never_reused(f);
    compaction_forgets_dedup_keys(f);
    compaction_remembers_removed_keys(f);
    dead_letters_are_kept(f);
    dead_letters_removed_and_updated(f);
    retention_waits_for_dead_letters(f);
    state_get_put(f);
    reopen_keeps_everything(f);
    stats_follow_the_log(f);
    owner_chains_are_kept(f);
    query_owned_follows_owner_chains(f);
}
