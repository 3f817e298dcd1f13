//! [`RemediationGate`]: occurrence threshold and durable cooldown per problem key.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{RemediationConfig, RemediationKey, owner_of};
use crate::event::Event;
use crate::ratelimit::Clock;
use crate::store::{Store, StoreError, StoreOp};

/// The store namespace of gate records ([`Store::put_state`]); the key is
/// `<route>|<problem key>`.
pub const STATE_NAMESPACE: &str = "remediation-gate";

/// The most occurrences and event uids one record keeps, so that a storm of one problem
/// costs a small record per event. Past it the two oldest occurrences merge (at the
/// older time: they leave the window a little early, never late) and the uid seen
/// longest ago is forgotten (if it comes back, its whole count is new again).
const MAX_ENTRIES: usize = 64;

/// Wall-clock time as a [`Clock`]: elapsed since the Unix epoch. The gate's records
/// outlive the process, so its clock must too; tests use a `ManualClock` moved to a
/// date instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// What the gate decided for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateDecision {
    /// Remediate: the threshold is met and no cooldown runs (or this very event fired
    /// before and is being delivered again after a restart).
    Fire,
    /// Not yet: `seen` occurrences within the window, `needed` required.
    BelowThreshold { seen: u64, needed: u32 },
    /// The same problem fired at `fired_at`; quiet until `until`.
    Cooldown {
        fired_at: Timestamp,
        until: Timestamp,
    },
}

impl GateDecision {
    /// The label values of `kev_remediation_gate_total{decision}`.
    pub const FIRE: &'static str = "fire";
    pub const BELOW_THRESHOLD: &'static str = "below_threshold";
    pub const COOLDOWN: &'static str = "cooldown";

    /// Label value for `kev_remediation_gate_total{decision}`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Fire => Self::FIRE,
            Self::BelowThreshold { .. } => Self::BELOW_THRESHOLD,
            Self::Cooldown { .. } => Self::COOLDOWN,
        }
    }
}

/// The durable state of one problem key, stored as JSON:
///
/// ```json
/// {"occurrences": [{"at": "2026-01-01T10:00:00Z", "n": 2}],
///  "versions": {"<event uid>": {"count": 2, "at": "2026-01-01T10:00:00Z"}},
///  "firedAt": "2026-01-01T09:00:00Z", "firedBy": "<uid>/<resourceVersion>"}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GateRecord {
    /// Occurrences seen since the last firing, each with how many it stood for.
    pub occurrences: Vec<Occurrence>,
    /// The highest count seen per event uid, so that a new version of an aggregated
    /// event adds only its increase, and an event read again adds nothing.
    pub versions: BTreeMap<String, SeenCount>,
    pub fired_at: Option<Timestamp>,
    /// Idempotency key of the event that fired last: delivered again (after a crash
    /// before the route's cursor moved) it passes, and nothing else does.
    pub fired_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub at: Timestamp,
    pub n: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenCount {
    pub count: u32,
    pub at: Timestamp,
}

/// Lets a remediation route fire once per problem: after `min_occurrences` within
/// `window`, then not again for `cooldown`, with its records in the store.
///
/// Time is the gate's clock (wall time in production), not the events' own times, so
/// that events replayed or arriving late are judged when kev sees them.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use kev_core::{Event, ManualClock, MemoryStore, ObjectRef};
/// use kev_core::remediation::{GateDecision, RemediationConfig, RemediationGate};
/// let clock = Arc::new(ManualClock::new());
/// clock.advance(Duration::from_secs(1_700_000_000));
/// let config = RemediationConfig { min_occurrences: 3, ..Default::default() };
/// let gate = RemediationGate::new("fix", config).with_clock(clock.clone());
/// let store = MemoryStore::new();
/// let event = Event { uid: "u".into(), resource_version: "1".into(), reason: "BackOff".into(), count: 3,
///     regarding: ObjectRef { kind: "Pod".into(), name: "web-0".into(), ..Default::default() }, ..Default::default() };
/// assert_eq!(gate.admit(&store, &event).unwrap(), GateDecision::Fire);
/// ```
#[derive(Debug, Clone)]
pub struct RemediationGate {
    route: String,
    config: RemediationConfig,
    clock: Arc<dyn Clock>,
}

impl RemediationGate {
    /// A gate for `route` on the wall clock.
    pub fn new(route: impl Into<String>, config: RemediationConfig) -> Self {
        Self {
            route: route.into(),
            config,
            clock: Arc::new(WallClock),
        }
    }

    /// Uses `clock` (time since the Unix epoch) instead of the wall clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn route(&self) -> &str {
        &self.route
    }

    /// The problem key of `event`: `cluster/namespace/Kind/name/reason` of its object
    /// or, with `key: owner`, of its owner when one is seen.
    pub fn problem_key(&self, event: &Event) -> String {
        let o = &event.regarding;
        let (kind, name) = match (self.config.key, owner_of(event)) {
            (RemediationKey::Owner, Some(owner)) => (owner.kind, owner.name),
            _ => (o.kind.clone(), o.name.clone()),
        };
        let namespace = if o.namespace.is_empty() {
            &event.namespace
        } else {
            &o.namespace
        };
        format!(
            "{}/{}/{}/{}/{}",
            event.cluster, namespace, kind, name, event.reason
        )
    }

    /// Counts `event` and decides, reading and writing the key's record in `store`.
    /// Synchronous like the store: call it from a blocking task.
    pub fn admit(&self, store: &dyn Store, event: &Event) -> Result<GateDecision, StoreError> {
        let key = format!("{}|{}", self.route, self.problem_key(event));
        let mut record = match store.get_state(STATE_NAMESPACE, &key)? {
            Some(bytes) => {
                serde_json::from_slice::<GateRecord>(&bytes).map_err(|e| StoreError::Decode {
                    key: format!("{STATE_NAMESPACE}/{key}"),
                    source: e.into(),
                })?
            }
            None => GateRecord::default(),
        };
        let idempotency = event.idempotency_key().to_string();
        if record.fired_by.as_deref() == Some(idempotency.as_str()) {
            return Ok(GateDecision::Fire);
        }
        let decision = self.decide(&mut record, event, self.now());
        if decision == GateDecision::Fire {
            record.fired_by = Some(idempotency);
        }
        let bytes = serde_json::to_vec(&record).map_err(|source| StoreError::Encode {
            op: StoreOp::Write,
            what: "remediation gate record",
            source,
        })?;
        store.put_state(STATE_NAMESPACE, &key, &bytes)?;
        Ok(decision)
    }

    fn now(&self) -> Timestamp {
        let nanos = i128::try_from(self.clock.now().as_nanos()).unwrap_or(i128::MAX);
        Timestamp::from_nanosecond(nanos).unwrap_or(Timestamp::MAX)
    }

    fn decide(&self, record: &mut GateRecord, event: &Event, now: Timestamp) -> GateDecision {
        let window_start = sub(now, self.config.window);
        record.occurrences.retain(|o| o.at >= window_start);
        record.versions.retain(|_, v| v.at >= window_start);

        let count = event.count.max(1);
        let added = match record.versions.get(&event.uid) {
            Some(seen) if count >= seen.count => count - seen.count,
            // A lower count is a new series under the same uid: all of it is new.
            _ => count,
        };
        record.versions.insert(
            event.uid.clone(),
            SeenCount {
                count: count.max(record.versions.get(&event.uid).map_or(0, |v| v.count)),
                at: now,
            },
        );
        if added > 0 {
            record.occurrences.push(Occurrence {
                at: now,
                n: u64::from(added),
            });
        }
        trim(record);

        if let Some(fired_at) = record.fired_at {
            let until = add(fired_at, self.config.cooldown);
            if now < until {
                return GateDecision::Cooldown { fired_at, until };
            }
        }
        let seen: u64 = record.occurrences.iter().map(|o| o.n).sum();
        if seen < u64::from(self.config.min_occurrences) {
            return GateDecision::BelowThreshold {
                seen,
                needed: self.config.min_occurrences,
            };
        }
        record.fired_at = Some(now);
        // The next firing needs the threshold met again, by new occurrences.
        record.occurrences.clear();
        GateDecision::Fire
    }
}

fn trim(record: &mut GateRecord) {
    while record.occurrences.len() > MAX_ENTRIES {
        let second = record.occurrences.remove(1);
        record.occurrences[0].n += second.n;
    }
    while record.versions.len() > MAX_ENTRIES {
        let oldest = record
            .versions
            .iter()
            .min_by_key(|(_, v)| v.at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => record.versions.remove(&k),
            None => break,
        };
    }
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_sub(d).ok())
        .unwrap_or(Timestamp::MIN)
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}
