//! [`Correlator`]: the core/v1 path, as client-go's `tools/record` `EventCorrelator`
//! (aggregator + logger), as a pure state machine.
//!
//! - The **aggregator** groups events that differ only in their message (key: type,
//!   reason, regarding object, reporting controller and instance). When the 10th
//!   distinct message of a group arrives within 600 s of the group's last event, the
//!   event becomes `"(combined from similar events): <message>"` under the group key.
//! - The **logger** counts repeats of one key (the group key plus the message, or the
//!   group key for a combined event): the first is a CREATE with `count: 1`, each
//!   repeat a strategic-merge PATCH of `count`, `lastTimestamp` and `message`.
//!
//! The spam filter runs before this (in `record`), so refused events leave no trace here.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use lru::LruCache;
use serde_json::{Value, json};

use super::new_event::NewEvent;
use super::objects::{Times, namespace_of, reference};
use super::reporter::Reporter;

/// The message prefix of a combined event (client-go's `EventAggregatorByReasonMessageFunc`).
pub(crate) const COMBINED_PREFIX: &str = "(combined from similar events): ";

#[derive(Debug, Clone)]
struct Group {
    messages: HashSet<u64>,
    last_at: Duration,
}

#[derive(Debug, Clone)]
struct Logged {
    count: i32,
    first: Timestamp,
    name: String,
}

/// A core/v1 write: the full Event (sent as a CREATE, or when a PATCH finds it gone),
/// and the PATCH for a repeat.
#[derive(Debug, Clone)]
pub(crate) struct CoreWrite {
    pub(crate) event: CoreEvent,
    pub(crate) patch: Option<Value>,
}

impl CoreWrite {
    pub(crate) fn namespace(&self) -> &str {
        self.event
            .metadata
            .namespace
            .as_deref()
            .unwrap_or("default")
    }

    pub(crate) fn name(&self) -> &str {
        self.event.metadata.name.as_deref().unwrap_or_default()
    }
}

/// The correlator of one recorder.
#[derive(Debug)]
pub(crate) struct Correlator {
    groups: LruCache<u64, Group>,
    logged: LruCache<u64, Logged>,
    hasher: RandomState,
    max_messages: usize,
    window: Duration,
}

impl Correlator {
    pub(crate) fn new(capacity: usize, max_messages: usize, window: Duration) -> Self {
        let cap = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            groups: LruCache::new(cap),
            logged: LruCache::new(cap),
            hasher: RandomState::new(),
            max_messages,
            window,
        }
    }

    /// Records kept (the larger of the two caches).
    pub(crate) fn len(&self) -> usize {
        self.groups.len().max(self.logged.len())
    }

    /// Observes `event` (note already sanitized) at monotonic `at`.
    pub(crate) fn observe(
        &mut self,
        event: NewEvent,
        reporter: &Reporter,
        at: Duration,
        times: &mut Times,
    ) -> CoreWrite {
        let o = &event.regarding;
        let group_key = self.hasher.hash_one((
            event.r#type.as_str(),
            &event.reason,
            (&o.api_version, &o.kind, &o.namespace, &o.name, &o.uid),
        ));
        let message_key = self.hasher.hash_one(&event.note);

        // Aggregator.
        let group = self.groups.get_or_insert_mut(group_key, || Group {
            messages: HashSet::new(),
            last_at: at,
        });
        if at.saturating_sub(group.last_at) > self.window {
            group.messages.clear();
        }
        group.messages.insert(message_key);
        group.last_at = at;
        let (key, message) = if group.messages.len() < self.max_messages {
            (self.hasher.hash_one((group_key, message_key)), event.note)
        } else {
            // Keep the set at its bound, as client-go's `PopAny`.
            if let Some(any) = group.messages.iter().next().copied() {
                group.messages.remove(&any);
            }
            let mut combined = String::with_capacity(COMBINED_PREFIX.len() + event.note.len());
            combined.push_str(COMBINED_PREFIX);
            combined.push_str(&event.note);
            kev_core::normalize::truncate_utf8(&mut combined, super::validate::MAX_NOTE_BYTES);
            (group_key, combined)
        };

        // Logger.
        let wall = times.wall(at);
        let (name, count, first) = match self.logged.get_mut(&key) {
            Some(seen) => {
                seen.count = seen.count.saturating_add(1);
                (seen.name.clone(), seen.count, seen.first)
            }
            None => {
                let name = times.name(&o.name, at);
                self.logged.put(
                    key,
                    Logged {
                        count: 1,
                        first: wall,
                        name: name.clone(),
                    },
                );
                (name, 1, wall)
            }
        };
        let patch = (count > 1)
            .then(|| json!({"count": count, "lastTimestamp": Time(wall), "message": &message}));
        let core = CoreEvent {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(namespace_of(o)),
                ..ObjectMeta::default()
            },
            involved_object: reference(o),
            reason: Some(event.reason),
            message: Some(message),
            type_: Some(event.r#type.as_str().to_owned()),
            count: Some(count),
            first_timestamp: Some(Time(first)),
            last_timestamp: Some(Time(wall)),
            source: Some(EventSource {
                component: Some(reporter.controller.clone()),
                host: None,
            }),
            reporting_component: Some(reporter.controller.clone()),
            reporting_instance: Some(reporter.instance.clone()),
            ..CoreEvent::default()
        };
        CoreWrite { event: core, patch }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_core::ObjectRef;

    fn event(note: &str) -> NewEvent {
        let pod = ObjectRef {
            kind: "Pod".into(),
            namespace: "ns".into(),
            name: "web".into(),
            ..Default::default()
        };
        NewEvent::warning(&pod, "Failed", "Sync", note)
    }

    #[test]
    fn counts_repeats_and_combines_the_tenth_distinct_message() {
        let mut c = Correlator::new(64, 10, Duration::from_secs(600));
        let mut t = Times::new(Timestamp::UNIX_EPOCH);
        let r = Reporter::new("kev.dev/test", "i").unwrap();
        let w = c.observe(event("same"), &r, Duration::ZERO, &mut t);
        assert!(w.patch.is_none());
        assert_eq!(w.event.count, Some(1));
        let w2 = c.observe(event("same"), &r, Duration::from_secs(1), &mut t);
        assert_eq!(w2.name(), w.name());
        assert_eq!(w2.patch.as_ref().unwrap()["count"], 2);
        // Eight more distinct messages: 9 distinct so far, each its own event.
        for i in 0..8 {
            let w = c.observe(event(&format!("m{i}")), &r, Duration::from_secs(2), &mut t);
            assert!(w.patch.is_none());
            assert!(!w.event.message.unwrap().starts_with(COMBINED_PREFIX));
        }
        let tenth = c.observe(event("m8"), &r, Duration::from_secs(3), &mut t);
        assert_eq!(
            tenth.event.message.as_deref(),
            Some("(combined from similar events): m8")
        );
        assert!(tenth.patch.is_none());
        let eleventh = c.observe(event("m9"), &r, Duration::from_secs(4), &mut t);
        assert_eq!(eleventh.name(), tenth.name());
        assert_eq!(
            eleventh.patch.as_ref().unwrap()["message"],
            "(combined from similar events): m9"
        );
        // After a quiet window the group starts over.
        let later = c.observe(event("m10"), &r, Duration::from_secs(4 + 601), &mut t);
        assert!(!later.event.message.unwrap().starts_with(COMBINED_PREFIX));
    }
}
