//! [`KeyHasher`]: turns an event into the `u64` its limiter key is stored under.
//!
//! Keys are hashed, not stored: building a `String` per decision would allocate on the
//! hot path, and a `u64` makes each tracked key small. The price is that two distinct
//! keys with the same 64-bit hash share one bucket. The hash is foldhash (quality
//! variant) under a seed drawn at random for each limiter: a collision happens by
//! chance with probability about n²/2⁶⁵ (some 3·10⁻¹⁰ for 100k keys). Aiming one on
//! purpose (naming an object so that it shares another object's bucket) would need the
//! seed, which never leaves the process; foldhash does not claim more than that
//! ("minimally DoS-resistant"). SipHash-1-3 was measured first and took two thirds of a
//! decision's time; the trade-off is written down here so it can be revisited.

use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use foldhash::quality::RandomState;

use super::config::LimitKey;
use crate::event::Event;

/// Hashes the part of an event that [`LimitKey`] selects. The hasher is fixed for the
/// life of the limiter, so an event's key never changes.
#[derive(Debug, Clone)]
pub struct KeyHasher {
    key: LimitKey,
    state: RandomState,
    /// The hash for `route` and `global`, computed once.
    constant: u64,
}

impl KeyHasher {
    /// `route` is the name hashed for [`LimitKey::Route`].
    pub fn new(key: LimitKey, route: &str) -> Self {
        let state = RandomState::default();
        let constant = match key {
            LimitKey::Route => state.hash_one(("route", route)),
            _ => state.hash_one("global"),
        };
        Self {
            key,
            state,
            constant,
        }
    }

    /// The key of `event`.
    ///
    /// The object is the regarding object's cluster, namespace, kind and name; when the
    /// event names no object (no kind and no name), its uid stands in.
    pub fn key_of(&self, event: &Event) -> u64 {
        let o = &event.regarding;
        // An object without kind and name is told apart by its uid.
        let uid = if o.kind.is_empty() && o.name.is_empty() {
            o.uid.as_str()
        } else {
            ""
        };
        // `str`'s Hash writes a terminator, so the fields cannot run into each other.
        match self.key {
            LimitKey::Object => {
                self.state
                    .hash_one((&event.cluster, &o.namespace, &o.kind, &o.name, uid))
            }
            LimitKey::ObjectReason => self.state.hash_one((
                &event.cluster,
                &o.namespace,
                &o.kind,
                &o.name,
                uid,
                &event.reason,
            )),
            LimitKey::Route | LimitKey::Global => self.constant,
        }
    }
}

/// A hasher for keys that already are uniform 64-bit hashes: it passes them through, so
/// the LRU's table does not hash them a second time.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this; other input is folded in, not lost.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Builds [`PassThrough`] hashers for the LRU of tracked keys.
pub type PassThroughState = BuildHasherDefault<PassThrough>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ObjectRef;

    fn event(ns: &str, kind: &str, name: &str, reason: &str) -> Event {
        Event {
            cluster: "c".into(),
            reason: reason.into(),
            regarding: ObjectRef {
                namespace: ns.into(),
                kind: kind.into(),
                name: name.into(),
                uid: format!("uid-{name}"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn object_reason_tells_reasons_apart_object_does_not() {
        let by_reason = KeyHasher::new(LimitKey::ObjectReason, "r");
        let by_object = KeyHasher::new(LimitKey::Object, "r");
        let a = event("ns", "Pod", "web", "BackOff");
        let b = event("ns", "Pod", "web", "OOMKilling");
        assert_ne!(by_reason.key_of(&a), by_reason.key_of(&b));
        assert_eq!(by_object.key_of(&a), by_object.key_of(&b));
    }

    #[test]
    fn fields_do_not_run_into_each_other() {
        let h = KeyHasher::new(LimitKey::Object, "r");
        assert_ne!(
            h.key_of(&event("ab", "Pod", "c", "")),
            h.key_of(&event("a", "bPod", "c", ""))
        );
        assert_ne!(
            h.key_of(&event("ns", "Pod", "web", "")),
            h.key_of(&event("ns", "Node", "web", ""))
        );
    }

    #[test]
    fn uid_stands_in_for_a_missing_object() {
        let h = KeyHasher::new(LimitKey::Object, "r");
        let mut a = event("", "", "", "");
        let mut b = a.clone();
        a.regarding.uid = "1".into();
        b.regarding.uid = "2".into();
        assert_ne!(h.key_of(&a), h.key_of(&b));
        // With a name, the uid is ignored: a re-created object keeps its key.
        let (mut c, mut d) = (event("ns", "Pod", "web", ""), event("ns", "Pod", "web", ""));
        c.regarding.uid = "1".into();
        d.regarding.uid = "2".into();
        assert_eq!(h.key_of(&c), h.key_of(&d));
    }

    #[test]
    fn route_and_global_are_one_key() {
        for key in [LimitKey::Route, LimitKey::Global] {
            let h = KeyHasher::new(key, "r");
            assert_eq!(
                h.key_of(&event("a", "Pod", "x", "A")),
                h.key_of(&event("b", "Node", "y", "B"))
            );
        }
    }

    #[test]
    fn pass_through_keeps_u64() {
        let mut h = PassThrough::default();
        h.write_u64(0xdead_beef);
        assert_eq!(h.finish(), 0xdead_beef);
    }
}
