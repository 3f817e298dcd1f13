//! [`OwnerCache`]: the chains already read, bounded (least recently used go first).

use std::num::NonZeroUsize;

use kev_core::OwnerChain;
use lru::LruCache;

/// An object: namespace, kind, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

/// What is known of an object.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Queued for the resolver; no second lookup is queued meanwhile.
    Pending,
    /// Its chain, and the uid of the object it was read from (empty if it was gone).
    Known { uid: String, chain: OwnerChain },
}

#[derive(Debug)]
pub struct OwnerCache {
    entries: LruCache<ObjectKey, Entry>,
}

impl OwnerCache {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: LruCache::new(capacity),
        }
    }

    /// The chain of `key` when known for the object with `uid` (an empty `uid` on
    /// either side matches); `Err(true)` when it must be looked up (unknown, or a new
    /// object of the same name), `Err(false)` when a lookup is already queued.
    pub fn chain(&mut self, key: &ObjectKey, uid: &str) -> Result<OwnerChain, bool> {
        match self.entries.get(key) {
            Some(Entry::Pending) => Err(false),
            Some(Entry::Known { uid: known, chain })
                if uid.is_empty() || known.is_empty() || known == uid =>
            {
                Ok(chain.clone())
            }
            _ => Err(true),
        }
    }

    pub fn put(&mut self, key: ObjectKey, entry: Entry) {
        self.entries.put(key, entry);
    }

    /// Forgets a pending lookup that was not queued, so a later event queues it again.
    pub fn forget_pending(&mut self, key: &ObjectKey) {
        if matches!(self.entries.peek(key), Some(Entry::Pending)) {
            self.entries.pop(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_core::OwnerLink;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            namespace: "ns".into(),
            kind: "Pod".into(),
            name: name.into(),
        }
    }

    #[test]
    fn bounded_and_keyed_by_uid() {
        let mut cache = OwnerCache::new(NonZeroUsize::MIN.saturating_add(1));
        let chain = OwnerChain {
            links: vec![OwnerLink::new("StatefulSet", "db")],
            inferred: false,
        };
        cache.put(
            key("db-0"),
            Entry::Known {
                uid: "u1".into(),
                chain: chain.clone(),
            },
        );
        assert_eq!(cache.chain(&key("db-0"), "u1"), Ok(chain.clone()));
        assert_eq!(cache.chain(&key("db-0"), ""), Ok(chain));
        assert_eq!(cache.chain(&key("db-0"), "u2"), Err(true), "a new pod");
        cache.put(key("a"), Entry::Pending);
        assert_eq!(cache.chain(&key("a"), ""), Err(false));
        cache.forget_pending(&key("a"));
        assert_eq!(cache.chain(&key("a"), ""), Err(true));
        cache.put(key("b"), Entry::Pending);
        cache.put(key("c"), Entry::Pending);
        assert_eq!(cache.chain(&key("db-0"), "u1"), Err(true), "evicted");
    }
}
