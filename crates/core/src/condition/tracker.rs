//! [`ConditionTracker`]: which objects are in which condition now, from their events.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use super::table::{self, ConditionRule};
use super::{ConditionClock, ConditionConfig};
use crate::event::Event;
use crate::metrics as m;

/// An object as events name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ObjectKey {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

/// How long one object has been in one condition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    /// When its first failure event of this spell happened.
    pub since: Timestamp,
    /// When its latest one did: the quiet period runs from here.
    pub last: Timestamp,
}

/// What an event's reason does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Enter(u16),
    Recover(u16),
}

/// What one event does, taken from it before it moves into the store.
#[derive(Debug)]
pub struct Signal {
    what: SignalKind,
    time: Option<Timestamp>,
}

#[derive(Debug)]
enum SignalKind {
    Enter(ObjectKey, u16, Option<Timestamp>),
    Recover(ObjectKey, u16),
    Deleted(ObjectKey),
    /// The newest time of a batch: every event moves the event clock.
    Clock,
}

/// The state behind the gauges, shared by the ingest task (which feeds it) and the
/// `/metrics` handler (which renders it).
#[derive(Debug)]
pub struct ConditionTracker {
    pub(super) config: ConditionConfig,
    pub(super) rules: Vec<ConditionRule>,
    effects: HashMap<String, Vec<Effect>>,
    pub(super) state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub spans: HashMap<(ObjectKey, u16), Span>,
    /// Newest event time seen: the clock of [`ConditionClock::Events`].
    pub newest: Option<Timestamp>,
}

impl ConditionTracker {
    /// A tracker of the built-in conditions and those of `config.extra` (already
    /// checked by [`ConditionConfig::validate`]).
    pub fn new(config: ConditionConfig) -> Self {
        let mut rules = table::built_in();
        rules.extend(config.extra.iter().cloned());
        let mut effects: HashMap<String, Vec<Effect>> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            for r in &rule.reasons {
                effects.entry(r.clone()).or_default().push(Effect::Enter(i));
            }
            for r in &rule.recovery {
                effects
                    .entry(r.clone())
                    .or_default()
                    .push(Effect::Recover(i));
            }
        }
        Self {
            config,
            rules,
            effects,
            state: Mutex::new(State::default()),
        }
    }

    pub fn config(&self) -> &ConditionConfig {
        &self.config
    }

    /// What `events` do to the conditions; most events do nothing and cost one lookup.
    pub fn signals<'a>(&self, events: impl IntoIterator<Item = &'a Event>) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut newest: Option<Timestamp> = None;
        for e in events {
            let key = || ObjectKey {
                namespace: e.regarding.namespace.clone(),
                kind: e.regarding.kind.clone(),
                name: e.regarding.name.clone(),
            };
            let time = e.time();
            newest = newest.max(time);
            if let Some(effects) = self.effects.get(&e.reason) {
                for effect in effects {
                    let what = match *effect {
                        Effect::Enter(i) => SignalKind::Enter(key(), i, e.first_seen),
                        Effect::Recover(i) => SignalKind::Recover(key(), i),
                    };
                    out.push(Signal { what, time });
                }
            } else if table::DELETION_REASONS.contains(&e.reason.as_str()) {
                out.push(Signal {
                    what: SignalKind::Deleted(key()),
                    time,
                });
            } else if let Some(pod) = table::deleted_pod(&e.reason, &e.message) {
                let pod = ObjectKey {
                    namespace: e.regarding.namespace.clone(),
                    kind: "Pod".to_owned(),
                    name: pod,
                };
                out.push(Signal {
                    what: SignalKind::Deleted(pod),
                    time,
                });
            }
        }
        if self.config.clock == ConditionClock::Events && newest.is_some() {
            out.push(Signal {
                what: SignalKind::Clock,
                time: newest,
            });
        }
        out
    }

    /// Applies what [`ConditionTracker::signals`] found.
    pub fn apply(&self, signals: Vec<Signal>) {
        if signals.is_empty() {
            return;
        }
        let mut state = self.lock();
        let mut untracked = 0u64;
        for s in signals {
            let time = s.time.unwrap_or_else(Timestamp::now);
            if state.newest.is_none_or(|n| n < time) {
                state.newest = Some(time);
            }
            match s.what {
                SignalKind::Enter(key, rule, first) => {
                    let full = state.spans.len() >= self.config.max_objects;
                    match state.spans.get_mut(&(key.clone(), rule)) {
                        Some(span) => span.last = span.last.max(time),
                        None if full => untracked += 1,
                        None => {
                            let since = first.unwrap_or(time).min(time);
                            state.spans.insert((key, rule), Span { since, last: time });
                        }
                    }
                }
                SignalKind::Recover(key, rule) => {
                    // A recovery older than the latest failure (a relist, out of order)
                    // does not end it.
                    let entry = (key, rule);
                    if state.spans.get(&entry).is_some_and(|s| s.last <= time) {
                        state.spans.remove(&entry);
                    }
                }
                SignalKind::Clock => {}
                SignalKind::Deleted(key) => {
                    for rule in 0..self.rules.len() {
                        let rule = u16::try_from(rule).unwrap_or(u16::MAX);
                        state.spans.remove(&(key.clone(), rule));
                    }
                }
            }
        }
        if untracked > 0 {
            metrics::counter!(m::CONDITIONS_UNTRACKED_TOTAL).increment(untracked);
        }
    }

    /// Counts one event (tests, rebuilding from the store).
    pub fn observe(&self, event: &Event) {
        self.apply(self.signals(std::iter::once(event)));
    }

    /// Ends every condition whose object has been quiet for the quiet period, and
    /// returns the time the gauges are measured at.
    pub(super) fn sweep(&self, state: &mut State) -> Timestamp {
        let now = self.now(state);
        let quiet =
            SignedDuration::try_from(self.config.quiet_period).unwrap_or(SignedDuration::MAX);
        state
            .spans
            .retain(|_, span| now.duration_since(span.last) < quiet);
        now
    }

    pub(super) fn now(&self, state: &State) -> Timestamp {
        match self.config.clock {
            ConditionClock::Wall => Timestamp::now(),
            ConditionClock::Events => state.newest.unwrap_or_else(Timestamp::now),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Objects in a condition now (after the quiet sweep), for tests and `kev` itself.
    pub fn tracked(&self) -> usize {
        let mut state = self.lock();
        self.sweep(&mut state);
        state.spans.len()
    }
}
