//! [`StoredAt`]: when recent appends were stored, for `kev_sink_latency_seconds`
//! (stored → acknowledged) without storing a timestamp per event.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Marks kept: at the default batch size that is minutes of appends, far more than a
/// healthy route lags; older events are simply not measured (the backlog gauge shows them).
const MARKS: usize = 8192;

/// `(last seq of an append, when it was stored)`, in seq order, shared by the ingest
/// (writer) and the routes (readers).
#[derive(Debug, Clone, Default)]
pub(crate) struct StoredAt(Arc<Mutex<VecDeque<(u64, Instant)>>>);

impl StoredAt {
    /// Records that everything up to `last_seq` was stored at `at`.
    pub fn mark(&self, last_seq: u64, at: Instant) {
        let Ok(mut marks) = self.0.lock() else { return };
        if marks.back().is_some_and(|(seq, _)| *seq >= last_seq) {
            return;
        }
        if marks.len() == MARKS {
            marks.pop_front();
        }
        marks.push_back((last_seq, at));
    }

    /// When the append holding `seq` was stored, if it is still remembered (and was made
    /// by this process).
    pub fn lookup(&self, seq: u64) -> Option<Instant> {
        let marks = self.0.lock().ok()?;
        let i = marks.partition_point(|(last, _)| *last < seq);
        let first_kept = marks.front()?.0;
        // The first mark also covers seqs stored before it by appends already forgotten.
        (i < marks.len() && !(i == 0 && seq <= first_kept && marks.len() == MARKS))
            .then(|| marks[i].1)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn finds_the_append_that_stored_a_seq() {
        let t0 = Instant::now();
        let marks = StoredAt::default();
        marks.mark(10, t0);
        marks.mark(25, t0 + Duration::from_secs(1));
        assert_eq!(marks.lookup(1), Some(t0));
        assert_eq!(marks.lookup(10), Some(t0));
        assert_eq!(marks.lookup(11), Some(t0 + Duration::from_secs(1)));
        assert_eq!(marks.lookup(25), Some(t0 + Duration::from_secs(1)));
        assert_eq!(marks.lookup(26), None);
    }

    #[test]
    fn forgets_the_oldest_appends() {
        let t0 = Instant::now();
        let marks = StoredAt::default();
        for i in 1..=(MARKS as u64 + 10) {
            marks.mark(i * 10, t0);
        }
        assert_eq!(marks.lookup(5), None, "stored by a forgotten append");
        assert_eq!(marks.lookup(200), Some(t0));
    }
}
