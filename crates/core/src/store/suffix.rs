//! The `time · seq` suffix that ends every index key ([`super::index`]), and how to read
//! it back. Its own module because both the index keys and the segment merge
//! ([`super::segments`]) read it.

use jiff::Timestamp;

/// Length of the `time · seq` suffix of every index key.
pub const SUFFIX_LEN: usize = 20;

/// The sortable 12-byte form of an event time.
pub fn time_key(time: Option<Timestamp>) -> [u8; 12] {
    let mut out = [0u8; 12];
    if let Some(t) = time {
        let nanos = t.as_nanosecond();
        // jiff's range (±10k years) fits i64 seconds by far; never near i64::MIN.
        let secs = nanos.div_euclid(1_000_000_000) as i64;
        let sub = nanos.rem_euclid(1_000_000_000) as u32;
        out[..8].copy_from_slice(&((secs as u64) ^ (1 << 63)).to_be_bytes());
        out[8..].copy_from_slice(&sub.to_be_bytes());
    }
    out
}

pub(super) fn suffix(time: Option<Timestamp>, seq: u64) -> [u8; SUFFIX_LEN] {
    let mut out = [0u8; SUFFIX_LEN];
    out[..12].copy_from_slice(&time_key(time));
    out[12..].copy_from_slice(&seq.to_be_bytes());
    out
}

/// The sequence number at the end of an index key.
pub fn seq_of(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The time bytes of an index key.
pub fn time_of(key: &[u8]) -> Option<&[u8]> {
    let start = key.len().checked_sub(SUFFIX_LEN)?;
    key.get(start..start + 12)
}
