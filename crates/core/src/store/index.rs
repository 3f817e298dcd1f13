//! [`IndexKeys`] and [`ScanPlan`]: the byte keys of the embedded stores' secondary
//! indexes, and which index range serves a [`Query`].
//!
//! Every index key ends in `time (12 bytes) · seq (8 bytes)`, big-endian so that byte
//! order is (time, seq) order, the order of query results:
//!
//! ```text
//! time index       time · seq
//! namespace index  len16 · namespace · time · seq
//! object index     len16 · lowercase(kind) · len16 · name · time · seq
//! ```
//!
//! The object index holds an event under its involved object and under each owner in
//! its chain ([`IndexKeys::owners`]), so the events of a Deployment and of everything it
//! owned are one range (`Query::owned`); a query for the object alone drops the owned
//! ones when it filters.
//!
//! A store may cut the namespace and object indexes into segments of consecutive seqs
//! ([`super::segments`]); their keys then start with the segment (`u64`, big-endian).
//!
//! The dedup key of an event ([`dedup_key`]) puts a numeric resourceVersion first: an
//! etcd revision, which grows, so the inserts of a batch land on neighbouring pages.
//!
//! `time` is the event time ([`crate::Event::time`]): 8 bytes of seconds with the sign bit
//! flipped and 4 bytes of nanoseconds; an event without a time gets all zeros, which sorts
//! first, as `None` does.

use super::Query;
use super::segments::SegmentBounds;
use super::suffix::suffix;
pub use super::suffix::{SUFFIX_LEN, seq_of, time_key, time_of};
use crate::event::Event;

/// Which secondary index a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Time,
    Namespace,
    Object,
}

/// The index keys of one stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKeys {
    pub time: Vec<u8>,
    pub namespace: Vec<u8>,
    pub object: Vec<u8>,
    /// Object-index keys of the event's owners (kind + name of each link of its chain).
    pub owners: Vec<Vec<u8>>,
}

impl IndexKeys {
    /// The keys under which the event with `seq` is indexed.
    ///
    /// ```
    /// use kev_core::store::index::{IndexKeys, seq_of};
    /// let e = kev_core::Event { namespace: "default".into(), ..Default::default() };
    /// let keys = IndexKeys::of(&e, 42);
    /// assert_eq!(seq_of(&keys.namespace), Some(42));
    /// ```
    pub fn of(event: &Event, seq: u64) -> Self {
        Self::build(event, seq, None)
    }

    /// The keys of the event with `seq` for a store whose namespace and object indexes
    /// are cut into segments ([`super::segments`]): those two keys start with `segment`
    /// as a big-endian `u64`; the time key is the same as in [`Self::of`].
    ///
    /// ```
    /// use kev_core::store::index::{IndexKeys, seq_of};
    /// let e = kev_core::Event { namespace: "default".into(), ..Default::default() };
    /// let keys = IndexKeys::in_segment(&e, 42, 7);
    /// assert_eq!(&keys.namespace[..8], &7u64.to_be_bytes());
    /// assert_eq!(seq_of(&keys.object), Some(42));
    /// ```
    pub fn in_segment(event: &Event, seq: u64, segment: u64) -> Self {
        Self::build(event, seq, Some(segment))
    }

    /// The event's time key ([`time_key`]), the start of [`Self::time`].
    pub fn time_key(&self) -> [u8; 12] {
        let mut out = [0; 12];
        out.copy_from_slice(&self.time[..12]);
        out
    }

    fn build(event: &Event, seq: u64, segment: Option<u64>) -> Self {
        let suffix = suffix(event.time(), seq);
        let segment = segment.map(u64::to_be_bytes);
        let segment = segment.as_ref().map_or(&[][..], |s| &s[..]);
        let mut namespace =
            Vec::with_capacity(segment.len() + 2 + event.namespace.len() + SUFFIX_LEN);
        namespace.extend_from_slice(segment);
        put_part(&mut namespace, event.namespace.as_bytes());
        namespace.extend_from_slice(&suffix);
        let object_key = |kind: &str, name: &str| {
            let mut key =
                Vec::with_capacity(segment.len() + 4 + kind.len() + name.len() + SUFFIX_LEN);
            key.extend_from_slice(segment);
            put_lowercase_part(&mut key, kind.as_bytes());
            put_part(&mut key, name.as_bytes());
            key.extend_from_slice(&suffix);
            key
        };
        let object = object_key(&event.regarding.kind, &event.regarding.name);
        let owners = event
            .owners
            .links
            .iter()
            .map(|l| object_key(&l.kind, &l.name))
            .filter(|k| *k != object)
            .collect();
        Self {
            time: suffix.to_vec(),
            namespace,
            object,
            owners,
        }
    }
}

/// The key of an event's (uid, resourceVersion) in the dedup table: compact and injective.
///
/// ```text
/// flags (bit 0: resourceVersion is text, bit 1: uid is text)
/// · resourceVersion: u64 big-endian, or len16 · text
/// · uid: 16 bytes (canonical RFC 4122 form), or the text (the rest of the key)
/// ```
///
/// ```
/// use kev_core::store::index::dedup_key;
/// let e = kev_core::Event { uid: "0b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70".into(), resource_version: "42".into(), ..Default::default() };
/// assert_eq!(dedup_key(&e).len(), 1 + 8 + 16);
/// ```
pub fn dedup_key(event: &Event) -> Vec<u8> {
    let rv = super::codec::parse_decimal(&event.resource_version);
    let uid = super::codec::parse_uuid(&event.uid);
    let flags = u8::from(rv.is_none()) | u8::from(uid.is_none()) << 1;
    let mut key = Vec::with_capacity(1 + 8 + 16);
    key.push(flags);
    match rv {
        Some(n) => key.extend_from_slice(&n.to_be_bytes()),
        None => put_part(&mut key, event.resource_version.as_bytes()),
    }
    match uid {
        Some(b) => key.extend_from_slice(&b),
        None => key.extend_from_slice(event.uid.as_bytes()),
    }
    key
}

/// The big-endian key of a sequence number in the log.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    // Kubernetes names are far shorter; longer values are cut (the filter re-checks).
    let len = part.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&part[..len]);
}

fn put_lowercase_part(out: &mut Vec<u8>, part: &[u8]) {
    let start = out.len() + 2;
    put_part(out, part);
    out[start..].make_ascii_lowercase();
}

/// Which index range to scan for a query, and what the scan can promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub index: Index,
    /// First key to visit (inclusive).
    pub start: Vec<u8>,
    /// Key to stop before; `None`: to the end of the index.
    pub end: Option<Vec<u8>>,
    /// The query's time window as time keys (`since` inclusive, `until` exclusive).
    pub since: Option<[u8; 12]>,
    pub until: Option<[u8; 12]>,
    /// True when the range does not bound the time, so each key's time is checked
    /// against the window ([`Self::admits`]).
    pub check_time: bool,
    /// True when keys come in result order ((time, seq)), so a limit can stop the scan
    /// early (unless the query collapses).
    pub ordered: bool,
}

impl ScanPlan {
    /// The narrowest index range for `query`: object (kind + name), then namespace, then
    /// object (kind only), then the time index.
    ///
    /// ```
    /// use kev_core::{Query, store::index::{Index, ScanPlan}};
    /// let q = Query { namespace: Some("default".into()), ..Default::default() };
    /// assert_eq!(ScanPlan::for_query(&q).index, Index::Namespace);
    /// ```
    pub fn for_query(query: &Query) -> Self {
        let since = query.since.map(|t| time_key(Some(t)));
        let until = query.until.map(|t| time_key(Some(t)));
        let ranged = |index: Index, prefix: Vec<u8>| {
            let mut start = prefix.clone();
            // No `since`: start at the prefix, which includes events without a time.
            if let Some(s) = since {
                start.extend_from_slice(&s);
            }
            let end = match until {
                Some(u) => {
                    let mut end = prefix;
                    end.extend_from_slice(&u);
                    Some(end)
                }
                None if index == Index::Time => None,
                None => Some(prefix_end(prefix)),
            };
            Self {
                index,
                start,
                end,
                since,
                until,
                check_time: false,
                ordered: true,
            }
        };
        match (&query.kind, &query.name, &query.namespace) {
            (Some(kind), Some(name), _) => {
                let mut prefix = Vec::new();
                put_part(&mut prefix, kind.to_ascii_lowercase().as_bytes());
                put_part(&mut prefix, name.as_bytes());
                ranged(Index::Object, prefix)
            }
            (_, _, Some(ns)) => {
                let mut prefix = Vec::new();
                put_part(&mut prefix, ns.as_bytes());
                ranged(Index::Namespace, prefix)
            }
            (Some(kind), None, None) => {
                let mut prefix = Vec::new();
                put_part(&mut prefix, kind.to_ascii_lowercase().as_bytes());
                Self {
                    index: Index::Object,
                    end: Some(prefix_end(prefix.clone())),
                    start: prefix,
                    since,
                    until,
                    check_time: true,
                    ordered: false,
                }
            }
            _ => ranged(Index::Time, Vec::new()),
        }
    }

    /// True when the key passes the per-key time check (always, when the range bounds
    /// the time).
    pub fn admits(&self, key: &[u8]) -> bool {
        if !self.check_time {
            return true;
        }
        let Some(t) = time_of(key) else {
            return false;
        };
        self.since.is_none_or(|s| t >= &s[..]) && self.until.is_none_or(|u| t < &u[..])
    }

    /// True when a segment with these time bounds may hold an event in the window.
    pub fn may_hold(&self, bounds: &SegmentBounds) -> bool {
        self.since.is_none_or(|s| bounds.max >= s) && self.until.is_none_or(|u| bounds.min < u)
    }

    /// The plan's range within one segment of a segmented index: `start`, `end`, each
    /// after the segment's 8 bytes.
    ///
    /// ```
    /// use kev_core::{Query, store::index::ScanPlan};
    /// let plan = ScanPlan::for_query(&Query { namespace: Some("a".into()), ..Default::default() });
    /// let (start, end) = plan.in_segment(3);
    /// assert!(start.starts_with(&3u64.to_be_bytes()) && start < end);
    /// ```
    pub fn in_segment(&self, segment: u64) -> (Vec<u8>, Vec<u8>) {
        let prefixed = |key: &[u8]| [&segment.to_be_bytes()[..], key].concat();
        let end = match &self.end {
            Some(end) => prefixed(end),
            // Only the time index is open-ended; the next segment bounds this one.
            None => segment.saturating_add(1).to_be_bytes().to_vec(),
        };
        (prefixed(&self.start), end)
    }
}

/// A key greater than every key that starts with `prefix` and less than the keys of any
/// other prefix (prefixes are length-prefixed, so none is a prefix of another).
fn prefix_end(mut prefix: Vec<u8>) -> Vec<u8> {
    prefix.extend_from_slice(&[0xff; SUFFIX_LEN + 1]);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn dedup_keys_tell_events_apart() {
        let key = |uid: &str, rv: &str| {
            dedup_key(&Event {
                uid: uid.into(),
                resource_version: rv.into(),
                ..Default::default()
            })
        };
        let pairs = [
            ("u", "1"),
            ("u", "01"),
            ("u1", ""),
            ("u", "11"),
            ("", "u1"),
            ("0b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70", "1"),
            ("0B6F2C1E-6C8A-4D8E-9F1A-2B3C4D5E6F70", "1"),
            ("x", "18446744073709551616"),
        ];
        let keys: std::collections::HashSet<_> = pairs.iter().map(|(u, r)| key(u, r)).collect();
        assert_eq!(keys.len(), pairs.len());
        assert!(
            key("a", "9") < key("a", "10"),
            "numeric versions sort by value"
        );
    }

    #[test]
    fn plans_pick_the_narrowest_index() {
        let t = |s| Some(Timestamp::from_second(s).unwrap());
        let q = |kind: Option<&str>, name: Option<&str>, ns: Option<&str>| Query {
            kind: kind.map(Into::into),
            name: name.map(Into::into),
            namespace: ns.map(Into::into),
            since: t(100),
            until: t(200),
            ..Default::default()
        };
        let object = ScanPlan::for_query(&q(Some("Pod"), Some("web"), Some("default")));
        assert_eq!((object.index, object.ordered), (Index::Object, true));
        let mut prefix = vec![0, 3];
        prefix.extend_from_slice(b"pod");
        prefix.extend_from_slice(&[0, 3]);
        prefix.extend_from_slice(b"web");
        assert_eq!(
            object.start,
            [prefix.clone(), time_key(t(100)).to_vec()].concat()
        );
        assert_eq!(
            object.end,
            Some([prefix, time_key(t(200)).to_vec()].concat())
        );
        assert!(!object.check_time, "the range bounds the time");

        let ns = ScanPlan::for_query(&q(Some("Pod"), None, Some("default")));
        assert_eq!((ns.index, ns.ordered), (Index::Namespace, true));

        let kind = ScanPlan::for_query(&q(Some("Pod"), None, None));
        assert_eq!((kind.index, kind.ordered), (Index::Object, false));
        assert!(kind.check_time, "time checked on each key");
        assert_eq!(kind.since, Some(time_key(t(100))));
        let key = |secs| {
            IndexKeys::of(
                &Event {
                    last_seen: t(secs),
                    regarding: crate::ObjectRef {
                        kind: "Pod".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                1,
            )
            .object
        };
        assert!(!kind.admits(&key(99)) && kind.admits(&key(100)) && !kind.admits(&key(200)));

        let time = ScanPlan::for_query(&q(None, Some("web"), None));
        assert_eq!((time.index, time.ordered), (Index::Time, true));
        assert_eq!(time.start, time_key(t(100)).to_vec());
        assert_eq!(time.end, Some(time_key(t(200)).to_vec()));
        let open = ScanPlan::for_query(&Query::default());
        assert_eq!(
            (open.start, open.end),
            (Vec::new(), None),
            "the whole time index"
        );
    }

    #[test]
    fn segments_are_visited_when_their_bounds_meet_the_window() {
        let t = |s| time_key(Some(Timestamp::from_second(s).unwrap()));
        let plan = ScanPlan::for_query(&Query {
            namespace: Some("a".into()),
            since: Some(Timestamp::from_second(100).unwrap()),
            until: Some(Timestamp::from_second(200).unwrap()),
            ..Default::default()
        });
        let seg = |lo, hi| SegmentBounds {
            min: t(lo),
            max: t(hi),
        };
        assert!(plan.may_hold(&seg(50, 100)) && plan.may_hold(&seg(199, 300)));
        assert!(plan.may_hold(&seg(0, 1000)) && plan.may_hold(&seg(150, 150)));
        assert!(!plan.may_hold(&seg(50, 99)) && !plan.may_hold(&seg(200, 300)));
        let open = ScanPlan::for_query(&Query::default());
        assert!(open.may_hold(&SegmentBounds::at([0; 12])));

        let (start, end) = plan.in_segment(5);
        let key = |ns: &str, secs, seg| {
            let e = Event {
                namespace: ns.into(),
                last_seen: Some(Timestamp::from_second(secs).unwrap()),
                ..Default::default()
            };
            IndexKeys::in_segment(&e, 1, seg).namespace
        };
        let inside = |k: Vec<u8>| start <= k && k < end;
        assert!(inside(key("a", 100, 5)) && inside(key("a", 199, 5)));
        assert!(!inside(key("a", 200, 5)) && !inside(key("a", 150, 4)));
        assert!(!inside(key("a", 150, 6)) && !inside(key("b", 150, 5)));
    }

    #[test]
    fn time_keys_sort_like_times() {
        let times = [
            None,
            Some(Timestamp::new(-100, -5).unwrap()),
            Some(Timestamp::new(-100, 0).unwrap()),
            Some(Timestamp::UNIX_EPOCH),
            Some(Timestamp::new(0, 1).unwrap()),
            Some(Timestamp::new(1_700_000_000, 0).unwrap()),
            Some(Timestamp::MAX),
        ];
        let keys: Vec<_> = times.iter().map(|t| time_key(*t)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(time_key(Some(Timestamp::MIN)) > time_key(None));
    }

    #[test]
    fn namespace_range_holds_exactly_its_keys() {
        let q = Query {
            namespace: Some("ab".into()),
            ..Default::default()
        };
        let plan = ScanPlan::for_query(&q);
        let end = plan.end.clone().unwrap();
        let key_of = |ns: &str| {
            let e = Event {
                namespace: ns.into(),
                last_seen: Some(Timestamp::MAX),
                ..Default::default()
            };
            IndexKeys::of(&e, u64::MAX).namespace
        };
        let inside = key_of("ab");
        assert!(plan.start <= inside && inside < end);
        for other in ["a", "abc", "b", ""] {
            let k = key_of(other);
            assert!(!(plan.start <= k && k < end), "{other}");
        }
    }
}
