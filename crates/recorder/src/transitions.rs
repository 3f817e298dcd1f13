//! [`Transitions`]: the last state seen per (object, key), bounded by an LRU, for
//! `EventRecorder::on_transition`.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use kev_core::ObjectRef;
use lru::LruCache;

/// Remembers one state (as a hash) per (object, key); see `EventRecorder::on_transition`.
#[derive(Debug)]
pub struct Transitions {
    hasher: RandomState,
    last: Mutex<LruCache<u64, u64>>,
}

impl Transitions {
    /// Remembers up to `capacity` (object, key) pairs (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            last: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// Records `state` for (`object`, `key`); true when it differs from the last one
    /// (or none was remembered).
    pub fn changed(&self, object: &ObjectRef, key: &str, state: &str) -> bool {
        let slot = self.hasher.hash_one((
            &object.api_version,
            &object.kind,
            &object.namespace,
            &object.name,
            &object.uid,
            key,
        ));
        let state = self.hasher.hash_one(state);
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.put(slot, state) != Some(state)
    }

    /// How many (object, key) pairs are remembered.
    pub fn len(&self) -> usize {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_count_and_the_lru_is_bounded() {
        let t = Transitions::new(2);
        let a = ObjectRef {
            name: "a".into(),
            ..Default::default()
        };
        let b = ObjectRef {
            name: "b".into(),
            ..Default::default()
        };
        assert!(t.changed(&a, "phase", "Creating"));
        assert!(!t.changed(&a, "phase", "Creating"));
        assert!(t.changed(&a, "phase", "Ready"));
        assert!(t.changed(&a, "health", "Ready"), "keys are separate");
        assert!(t.changed(&b, "phase", "Ready"));
        assert_eq!(t.len(), 2);
        // (a, phase) was the least recently seen and is forgotten: it emits again.
        assert!(t.changed(&a, "phase", "Ready"));
    }
}
