//! Index segments: a store may cut its namespace and object indexes into segments of
//! consecutive sequence numbers, each key prefixed with its segment
//! ([`IndexKeys::in_segment`](super::index::IndexKeys::in_segment)).
//!
//! Why: in one index over the whole history, the keys of a batch (one per object) land on
//! as many B-tree leaves as the batch has objects, and a copy-on-write store rewrites each
//! of those leaves on every commit. Within the current segment they share a few leaves,
//! whatever the history's size or the event rate.
//!
//! The price is at query time: the store keeps each segment's time bounds
//! ([`SegmentBounds`]), visits only the segments whose bounds meet the query's window
//! ([`ScanPlan::may_hold`](super::index::ScanPlan::may_hold)), and [`Merge`] combines
//! their ranges, each in (time, seq) order, into one stream in result order, opening a
//! segment only when it could hold the next result.

use std::collections::BinaryHeap;

use super::suffix::{SUFFIX_LEN, time_of};

/// The segment that holds `seq`, for segments of `segment_events` seqs (at least 1).
pub fn segment_of(seq: u64, segment_events: u64) -> u64 {
    seq / segment_events.max(1)
}

/// The earliest and latest event time (as [`time_key`](super::suffix::time_key)s) of the
/// events indexed in one segment. Bounds only widen: compaction leaves them as they are
/// until the whole segment is gone, so they may be wider than what is left, never narrower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentBounds {
    pub min: [u8; 12],
    pub max: [u8; 12],
}

impl SegmentBounds {
    /// Length of [`Self::to_bytes`].
    pub const LEN: usize = 24;

    /// The bounds of a segment holding one event at `time`.
    pub fn at(time: [u8; 12]) -> Self {
        Self {
            min: time,
            max: time,
        }
    }

    /// Widens these bounds to cover `other` too.
    pub fn widen(&mut self, other: &Self) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// `min · max`, 24 bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[..12].copy_from_slice(&self.min);
        out[12..].copy_from_slice(&self.max);
        out
    }

    /// The bounds written by [`Self::to_bytes`]; `None` for any other length.
    ///
    /// ```
    /// use kev_core::store::segments::SegmentBounds;
    /// let b = SegmentBounds { min: [1; 12], max: [2; 12] };
    /// assert_eq!(SegmentBounds::from_bytes(&b.to_bytes()), Some(b));
    /// assert_eq!(SegmentBounds::from_bytes(&[0; 23]), None);
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        Some(Self {
            min: bytes[..12].try_into().ok()?,
            max: bytes[12..].try_into().ok()?,
        })
    }
}

/// One segment to scan: its id and time bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub id: u64,
    pub bounds: SegmentBounds,
}

/// How [`Merge`] combines the segments' ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOrder {
    /// Each range yields keys in ascending (time, seq) order; so does the merge.
    OldestFirst,
    /// Each range yields keys in descending (time, seq) order; so does the merge.
    NewestFirst,
    /// The keys are not in time order (a scan by kind): one segment after another.
    Sequential,
}

/// The key at the head of an open range, ranked so that the greatest rank comes next.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    rank: [u8; SUFFIX_LEN],
    source: usize,
    key: Vec<u8>,
}

/// The keys of several segments' index ranges as one iterator in result order. `open`
/// gives the range of a segment, in the direction of the order; keys end in
/// `time · seq` (every index key does), and no two ranges share a key.
///
/// ```
/// use kev_core::store::segments::{Merge, MergeOrder, Segment, SegmentBounds};
/// let key = |t: u8, seq: u8| { let mut k = vec![0; 20]; k[11] = t; k[19] = seq; k };
/// let bounds = |lo, hi| SegmentBounds { min: key(lo, 0)[..12].try_into().unwrap(), max: key(hi, 0)[..12].try_into().unwrap() };
/// let data = [vec![key(1, 1), key(5, 2)], vec![key(3, 3), key(4, 4)]];
/// let segments = vec![Segment { id: 0, bounds: bounds(1, 5) }, Segment { id: 1, bounds: bounds(3, 4) }];
/// let merged: Vec<_> = Merge::new(segments, MergeOrder::OldestFirst, |id: u64| {
///     Ok::<_, ()>(data[id as usize].clone().into_iter().map(Ok))
/// }).map(|k| k.unwrap()[19]).collect();
/// assert_eq!(merged, [1, 3, 4, 2]);
/// ```
pub struct Merge<I, F> {
    order: MergeOrder,
    /// Segments not opened yet; the next to open is last.
    pending: Vec<Segment>,
    open: F,
    ranges: Vec<I>,
    heads: BinaryHeap<Head>,
    failed: bool,
}

impl<I, F> std::fmt::Debug for Merge<I, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("order", &self.order)
            .field("pending", &self.pending.len())
            .field("open", &self.ranges.len())
            .finish()
    }
}

impl<E, I, F> Merge<I, F>
where
    I: Iterator<Item = Result<Vec<u8>, E>>,
    F: FnMut(u64) -> Result<I, E>,
{
    pub fn new(mut segments: Vec<Segment>, order: MergeOrder, open: F) -> Self {
        // Opened from the end: the segment that could hold the first result last.
        match order {
            MergeOrder::OldestFirst => {
                segments.sort_unstable_by_key(|s| std::cmp::Reverse((s.bounds.min, s.id)));
            }
            MergeOrder::NewestFirst => {
                segments.sort_unstable_by_key(|s| (s.bounds.max, s.id));
            }
            MergeOrder::Sequential => segments.sort_unstable_by_key(|s| std::cmp::Reverse(s.id)),
        }
        Self {
            order,
            pending: segments,
            open,
            ranges: Vec::new(),
            heads: BinaryHeap::new(),
            failed: false,
        }
    }

    /// True when the next pending segment could hold a key that comes before `head`.
    fn must_open(&self, next: &Segment) -> bool {
        let Some(head) = self.heads.peek() else {
            return true;
        };
        let Some(time) = time_of(&head.key) else {
            return true;
        };
        match self.order {
            MergeOrder::OldestFirst => next.bounds.min[..] <= *time,
            MergeOrder::NewestFirst => next.bounds.max[..] >= *time,
            MergeOrder::Sequential => false,
        }
    }

    fn rank(&self, key: &[u8]) -> [u8; SUFFIX_LEN] {
        let mut rank = [0; SUFFIX_LEN];
        if let Some(suffix) = key.get(key.len().saturating_sub(SUFFIX_LEN)..) {
            rank[SUFFIX_LEN - suffix.len()..].copy_from_slice(suffix);
        }
        match self.order {
            MergeOrder::NewestFirst => rank,
            // Inverted, so that the max-heap pops the smallest (time, seq) first.
            MergeOrder::OldestFirst => rank.map(|b| !b),
            // Keep the order within a range: every head ranks the same, ties go to the
            // most recently opened range, and there is only ever one.
            MergeOrder::Sequential => [0; SUFFIX_LEN],
        }
    }

    /// Pulls the next key of range `source` into the heap.
    fn advance(&mut self, source: usize) -> Result<(), E> {
        if let Some(key) = self.ranges[source].next().transpose()? {
            let rank = self.rank(&key);
            self.heads.push(Head { rank, source, key });
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Vec<u8>>, E> {
        while let Some(next) = self.pending.last().copied() {
            let sequential_done = self.order == MergeOrder::Sequential && !self.heads.is_empty();
            if sequential_done || !self.must_open(&next) {
                break;
            }
            self.pending.pop();
            let range = (self.open)(next.id)?;
            self.ranges.push(range);
            self.advance(self.ranges.len() - 1)?;
        }
        let Some(head) = self.heads.pop() else {
            return Ok(None);
        };
        self.advance(head.source)?;
        Ok(Some(head.key))
    }
}

impl<E, I, F> Iterator for Merge<I, F>
where
    I: Iterator<Item = Result<Vec<u8>, E>>,
    F: FnMut(u64) -> Result<I, E>,
{
    type Item = Result<Vec<u8>, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = self.step();
        self.failed = step.is_err();
        step.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(time: u16, seq: u16) -> Vec<u8> {
        let mut k = b"prefix".to_vec();
        let mut t = [0u8; 12];
        t[6..8].copy_from_slice(&time.to_be_bytes());
        k.extend_from_slice(&t);
        k.extend_from_slice(&u64::from(seq).to_be_bytes());
        k
    }

    fn merged(segments: &[Vec<(u16, u16)>], order: MergeOrder) -> (Vec<u16>, usize) {
        let keys: Vec<Vec<Vec<u8>>> = segments
            .iter()
            .map(|s| {
                let mut keys: Vec<_> = s.iter().map(|&(t, q)| key(t, q)).collect();
                keys.sort();
                if order == MergeOrder::NewestFirst {
                    keys.reverse();
                }
                keys
            })
            .collect();
        let listed = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(id, s)| {
                let time = |t: u16| key(t, 0)[6..18].try_into().unwrap();
                Segment {
                    id: id as u64,
                    bounds: SegmentBounds {
                        min: time(s.iter().map(|e| e.0).min().unwrap()),
                        max: time(s.iter().map(|e| e.0).max().unwrap()),
                    },
                }
            })
            .collect();
        let mut opened = 0;
        let out = Merge::new(listed, order, |id| {
            opened += 1;
            Ok::<_, ()>(keys[id as usize].clone().into_iter().map(Ok))
        })
        .map(|k| u16::from_be_bytes(k.unwrap()[24..26].try_into().unwrap()))
        .collect();
        (out, opened)
    }

    proptest! {
        #[test]
        fn merge_gives_every_key_once_in_result_order(
            times in proptest::collection::vec(proptest::collection::vec(0u16..50, 0..20), 0..8)
        ) {
            // Seqs are unique across segments, as in a store.
            let mut seq = 0;
            let segments: Vec<Vec<(u16, u16)>> = times.iter().map(|s| s.iter().map(|&t| { seq += 1; (t, seq) }).collect()).collect();
            let mut all: Vec<(u16, u16)> = segments.concat();
            all.sort();
            let oldest: Vec<u16> = all.iter().map(|e| e.1).collect();
            prop_assert_eq!(merged(&segments, MergeOrder::OldestFirst).0, oldest.clone());
            let newest: Vec<u16> = oldest.iter().rev().copied().collect();
            prop_assert_eq!(merged(&segments, MergeOrder::NewestFirst).0, newest);
            let mut sequential = merged(&segments, MergeOrder::Sequential).0;
            sequential.sort_unstable();
            let mut every = oldest;
            every.sort_unstable();
            prop_assert_eq!(sequential, every);
        }
    }

    #[test]
    fn disjoint_segments_are_opened_only_when_needed() {
        let segments = vec![vec![(1, 1), (2, 2)], vec![(3, 3), (4, 4)], vec![(5, 5)]];
        let merge_count = |order, take| {
            let keys: Vec<Vec<Vec<u8>>> = segments
                .iter()
                .map(|s| s.iter().map(|&(t, q)| key(t, q)).collect())
                .collect();
            let list = (0..3)
                .map(|id| Segment {
                    id,
                    bounds: SegmentBounds {
                        min: key(segments[id as usize][0].0, 0)[6..18]
                            .try_into()
                            .unwrap(),
                        max: key(segments[id as usize].last().unwrap().0, 0)[6..18]
                            .try_into()
                            .unwrap(),
                    },
                })
                .collect();
            let mut opened = Vec::new();
            let got: Vec<_> = Merge::new(list, order, |id| {
                opened.push(id);
                let mut k = keys[id as usize].clone();
                if order == MergeOrder::NewestFirst {
                    k.reverse();
                }
                Ok::<_, ()>(k.into_iter().map(Ok))
            })
            .take(take)
            .collect();
            assert_eq!(got.len(), take);
            opened
        };
        assert_eq!(merge_count(MergeOrder::NewestFirst, 1), [2]);
        assert_eq!(merge_count(MergeOrder::NewestFirst, 2), [2, 1]);
        assert_eq!(merge_count(MergeOrder::OldestFirst, 2), [0]);
        assert_eq!(merge_count(MergeOrder::Sequential, 3), [0, 1]);
        assert_eq!(merged(&segments, MergeOrder::OldestFirst).1, 3);
    }

    #[test]
    fn an_error_ends_the_merge() {
        let segments = vec![
            Segment {
                id: 0,
                bounds: SegmentBounds::at([0; 12]),
            },
            Segment {
                id: 1,
                bounds: SegmentBounds::at([0; 12]),
            },
        ];
        let mut merge = Merge::new(segments, MergeOrder::OldestFirst, |id| {
            if id == 0 {
                Ok(vec![Ok(key(0, 1))].into_iter())
            } else {
                Err("broken")
            }
        });
        assert_eq!(merge.next(), Some(Err("broken")));
        assert_eq!(merge.next(), None);
    }
}
