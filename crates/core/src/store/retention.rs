//! The retention rule, decided once for every backend: may the oldest event go?

use jiff::Timestamp;

use super::{CompactOutcome, Retention};

/// What a backend sees of its log when deciding about the oldest event.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub events: u64,
    pub bytes: u64,
    pub oldest_time: Option<Timestamp>,
    /// Encoded size of the oldest event.
    pub oldest_len: u64,
    /// True when every route's cursor is at or past the oldest event.
    pub oldest_delivered: bool,
    pub now: Timestamp,
}

/// The decision about the oldest event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing to remove: stop compacting.
    Keep,
    /// Remove it; it was delivered (or no route exists).
    Remove,
    /// Remove it although a route has not delivered it: a hard cap is exceeded.
    EvictUndelivered,
}

/// Decides about the oldest event. Soft limits (age, events, bytes) only remove what
/// every route delivered; hard caps remove regardless and say so.
///
/// ```
/// use kev_core::store::{retention::{plan, Plan, Snapshot}, Retention};
/// let r = Retention { max_events: Some(10), hard_max_events: Some(20), ..Default::default() };
/// let s = Snapshot { events: 15, bytes: 0, oldest_time: None, oldest_len: 0, oldest_delivered: false, now: jiff::Timestamp::UNIX_EPOCH };
/// assert_eq!(plan(&r, &s), Plan::Keep);
/// assert_eq!(plan(&r, &Snapshot { oldest_delivered: true, ..s }), Plan::Remove);
/// assert_eq!(plan(&r, &Snapshot { events: 21, ..s }), Plan::EvictUndelivered);
/// ```
pub fn plan(retention: &Retention, s: &Snapshot) -> Plan {
    let over = |limit: Option<u64>, have: u64| limit.is_some_and(|max| have > max);
    let too_old = match (retention.max_age, s.oldest_time) {
        (Some(age), Some(t)) => {
            let age = jiff::SignedDuration::try_from(age).unwrap_or(jiff::SignedDuration::MAX);
            s.now.checked_sub(age).is_ok_and(|horizon| t < horizon)
        }
        _ => false,
    };
    let over_hard =
        over(retention.hard_max_events, s.events) || over(retention.hard_max_bytes, s.bytes);
    let over_soft =
        too_old || over(retention.max_events, s.events) || over(retention.max_bytes, s.bytes);
    match (s.oldest_delivered, over_soft || over_hard, over_hard) {
        (true, true, _) => Plan::Remove,
        (false, _, true) => Plan::EvictUndelivered,
        _ => Plan::Keep,
    }
}

/// One compaction step on the oldest event, the same in every backend: true when it is
/// to be removed (and then counted in `out`); false when the round stops, because
/// nothing more may go or because `max_remove` was reached (then `out.more` is set).
pub fn take_oldest(
    retention: &Retention,
    snapshot: &Snapshot,
    max_remove: u64,
    out: &mut CompactOutcome,
) -> bool {
    let decision = plan(retention, snapshot);
    if decision == Plan::Keep {
        return false;
    }
    if out.removed == max_remove {
        out.more = true;
        return false;
    }
    out.removed += 1;
    if decision == Plan::EvictUndelivered {
        out.evicted_undelivered += 1;
    }
    true
}

/// The last seq the soft limits may remove: every route's cursor is past it and no held
/// dead letter refers to it or to anything after it, so a dead letter waits in the log
/// like an undelivered event until it is retried or dropped. `min_cursor` is the lowest
/// route cursor (`None`: no route), `oldest_dead_letter` the lowest seq a dead letter
/// refers to.
///
/// ```
/// use kev_core::store::retention::delivered_through;
/// assert_eq!(delivered_through(None, None), u64::MAX);
/// assert_eq!(delivered_through(Some(10), None), 10);
/// assert_eq!(delivered_through(Some(10), Some(4)), 3);
/// assert_eq!(delivered_through(None, Some(1)), 0);
/// ```
pub fn delivered_through(min_cursor: Option<u64>, oldest_dead_letter: Option<u64>) -> u64 {
    let cursor = min_cursor.unwrap_or(u64::MAX);
    oldest_dead_letter.map_or(cursor, |seq| cursor.min(seq.saturating_sub(1)))
}
