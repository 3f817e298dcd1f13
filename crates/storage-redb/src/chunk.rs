//! [`encode_chunk`] / [`Chunk`]: up to [`CHUNK_EVENTS`] consecutive event records
//! compressed together as one `log` value.
//!
//! ```text
//! u8 version (=1) · varint count · count × varint record length · LZ4 block of the records
//! ```
//!
//! Events of one append compress far better together than one by one (their messages,
//! names and times repeat), and one value per chunk keeps redb's leaves full instead of
//! half-empty. LZ4 (`lz4_flex`) decompresses a chunk in a few microseconds, so reading
//! one event of a chunk stays cheap; the measurements behind the choice are in README.md.

use kev_core::store::codec::{decode_event, encode_event};
use kev_core::{Event, StoreError};

/// Most events in one chunk.
pub const CHUNK_EVENTS: usize = 64;

const CHUNK_VERSION: u8 = 1;
/// A chunk never holds more than this many uncompressed bytes (a bound for damaged data).
const MAX_RAW: usize = 1 << 30;

/// Encodes `events` into one chunk in `out` and returns each record's length.
pub fn encode_chunk<'e>(
    events: impl IntoIterator<Item = &'e Event>,
    raw: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Vec<u64> {
    raw.clear();
    out.clear();
    let mut lengths = Vec::with_capacity(CHUNK_EVENTS);
    for event in events {
        let start = raw.len();
        encode_event(event, raw);
        lengths.push((raw.len() - start) as u64);
    }
    out.push(CHUNK_VERSION);
    put_varint(out, lengths.len() as u64);
    for &len in &lengths {
        put_varint(out, len);
    }
    out.extend_from_slice(&lz4_flex::block::compress(raw));
    lengths
}

/// A decompressed chunk whose first event has sequence number `first`.
#[derive(Debug)]
pub struct Chunk {
    pub first: u64,
    /// Record `i` is `raw[ends[i - 1]..ends[i]]`.
    ends: Vec<usize>,
    raw: Vec<u8>,
}

impl Chunk {
    /// Decompresses the chunk stored under `first`; `what` names it in errors.
    pub fn decode(first: u64, bytes: &[u8], what: impl Fn() -> String) -> Result<Self, StoreError> {
        let bad = |detail: &str| StoreError::Decode {
            key: what(),
            source: detail.into(),
        };
        let mut pos = 0;
        let version = *bytes.first().ok_or_else(|| bad("empty chunk"))?;
        if version != CHUNK_VERSION {
            return Err(bad(&format!("chunk version {version} is not known")));
        }
        pos += 1;
        let count = get_varint(bytes, &mut pos).ok_or_else(|| bad("truncated count"))?;
        if count == 0 || count > CHUNK_EVENTS as u64 {
            return Err(bad(&format!("chunk of {count} events")));
        }
        let mut ends = Vec::with_capacity(count as usize);
        let mut total = 0usize;
        for _ in 0..count {
            let len = get_varint(bytes, &mut pos).ok_or_else(|| bad("truncated lengths"))?;
            total = usize::try_from(len)
                .ok()
                .and_then(|l| total.checked_add(l))
                .filter(|&t| t <= MAX_RAW)
                .ok_or_else(|| bad("record lengths out of range"))?;
            ends.push(total);
        }
        let raw = lz4_flex::block::decompress(&bytes[pos..], total)
            .map_err(|e| bad(&format!("LZ4: {e}")))?;
        if raw.len() != total {
            return Err(bad("decompressed length differs from the record lengths"));
        }
        Ok(Self { first, ends, raw })
    }

    /// The sequence number after the last event of the chunk.
    pub fn end(&self) -> u64 {
        self.first + self.ends.len() as u64
    }

    pub fn contains(&self, seq: u64) -> bool {
        (self.first..self.end()).contains(&seq)
    }

    /// The event with `seq` and its record length; `None` outside the chunk.
    pub fn event(
        &self,
        seq: u64,
        what: impl Fn() -> String,
    ) -> Option<Result<(Event, u64), StoreError>> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let record = &self.raw[start..end];
        Some(
            decode_event(record)
                .map(|e| (e, record.len() as u64))
                .map_err(|e| StoreError::Decode {
                    key: what(),
                    source: e.into(),
                }),
        )
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u64) -> Event {
        kev_core::testkit::store::workload::typical_event(i)
    }

    #[test]
    fn chunk_round_trips_every_event() {
        let events: Vec<_> = (0..CHUNK_EVENTS as u64).map(event).collect();
        let (mut raw, mut out) = (Vec::new(), Vec::new());
        let lengths = encode_chunk(&events, &mut raw, &mut out);
        assert!(out.len() * 3 < raw.len(), "{} of {}", out.len(), raw.len());
        let chunk = Chunk::decode(100, &out, String::new).unwrap();
        assert_eq!(chunk.end(), 100 + CHUNK_EVENTS as u64);
        for (i, e) in events.iter().enumerate() {
            let (got, len) = chunk.event(100 + i as u64, String::new).unwrap().unwrap();
            assert_eq!((&got, len), (e, lengths[i]));
        }
        assert!(chunk.event(99, String::new).is_none());
        assert!(chunk.event(chunk.end(), String::new).is_none());
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        let events: Vec<_> = (0..3).map(event).collect();
        let (mut raw, mut out) = (Vec::new(), Vec::new());
        encode_chunk(&events, &mut raw, &mut out);
        for cut in 0..out.len() {
            assert!(
                Chunk::decode(1, &out[..cut], String::new).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = out.clone();
        bad[0] = 7;
        assert!(Chunk::decode(1, &bad, String::new).is_err());
        let mut huge = vec![CHUNK_VERSION, 1];
        put_varint(&mut huge, u64::MAX);
        assert!(Chunk::decode(1, &huge, String::new).is_err());
    }
}
