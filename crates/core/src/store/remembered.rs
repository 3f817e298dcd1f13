//! Keys of removed events, remembered for [`Retention::remember_removed`]: retention
//! removes an event from the log, but the API server may still hold it (its TTL is its
//! own, and a relist sends everything it holds), so its idempotency key stays in the
//! dedup index for a while and a copy that arrives again counts as a duplicate.
//!
//! Each backend keeps the removed keys in seq order with the time of their removal and
//! forgets the oldest first, through the two functions here.

use jiff::Timestamp;

use super::Retention;

/// The most removed keys a store remembers: about 100 bytes each on disk, so a storm
/// cannot grow the store past ~100 MB through them.
pub const MAX_REMEMBERED: u64 = 1_000_000;

/// The record of a removed key: the removal time (seconds since the epoch, 8 bytes big
/// endian), then the dedup key.
///
/// ```
/// use kev_core::store::remembered::{decode, encode};
/// let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
/// assert_eq!(decode(&encode(at, b"uid\0rv")), Some((1_700_000_000, &b"uid\0rv"[..])));
/// assert_eq!(decode(b"short"), None);
/// ```
pub fn encode(removed_at: Timestamp, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&removed_at.as_second().to_be_bytes());
    out.extend_from_slice(key);
    out
}

/// The removal time (seconds) and the dedup key of a record; `None` if it is too short.
pub fn decode(record: &[u8]) -> Option<(i64, &[u8])> {
    let (at, key) = record.split_first_chunk::<8>()?;
    Some((i64::from_be_bytes(*at), key))
}

/// Whether the oldest remembered key (removed at `removed_at` seconds) may be forgotten
/// now, with `remembered` keys held in all.
///
/// ```
/// use std::time::Duration;
/// use kev_core::store::{remembered::may_forget, Retention};
/// let now = jiff::Timestamp::from_second(1_000).unwrap();
/// let r = Retention { remember_removed: Some(Duration::from_secs(100)), ..Default::default() };
/// assert!(!may_forget(&r, 950, 1, now));
/// assert!(may_forget(&r, 900, 1, now));
/// assert!(may_forget(&r, 999, kev_core::store::remembered::MAX_REMEMBERED + 1, now));
/// assert!(may_forget(&Retention::default(), 999, 1, now), "nothing is remembered without the setting");
/// ```
pub fn may_forget(retention: &Retention, removed_at: i64, remembered: u64, now: Timestamp) -> bool {
    let Some(keep) = retention.remember_removed else {
        return true;
    };
    let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    remembered > MAX_REMEMBERED || removed_at.saturating_add(keep) <= now.as_second()
}
