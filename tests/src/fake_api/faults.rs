//! [`FaultPlan`]: failures the fake API server injects on request: dropped connections,
//! 410 mid-stream, 500/429 answers, bare 410 on watch start, stalled streams.

use std::collections::VecDeque;
use std::sync::Mutex;

/// An HTTP error answer for the next request(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpFault {
    /// 500 or 429 (any status works; these two are what the API server sends).
    pub status: u16,
    /// `Retry-After` header and `details.retryAfterSeconds`.
    pub retry_after_secs: Option<u64>,
}

/// What a watch stream does when its event budget runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamAction {
    /// The connection is cut after the last event: no final chunk, as when a load
    /// balancer or the API server's process goes away.
    Drop,
    /// An ERROR event with a 410 Expired Status ends the stream, and the history is
    /// compacted so resuming from the last resourceVersion is 410 too.
    Expire,
}

/// A shared, changeable plan of faults. Counting is over every event line written to
/// any watch stream (ADDED, MODIFIED, DELETED, raw lines), across connections.
#[derive(Debug, Default)]
pub struct FaultPlan {
    inner: Mutex<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    delivered: u64,
    drop_every: Option<u64>,
    next_drop: Option<u64>,
    expire_at: Vec<u64>,
    http_errors: VecDeque<HttpFault>,
    bare_410_watches: u32,
    stall_up_to: u64,
    unresponsive_after: Option<std::time::Duration>,
    unresponsive_closes: u64,
}

impl FaultPlan {
    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Cut the watch connection after every `n` delivered events (0: never).
    pub fn drop_every(&self, n: u64) {
        let mut f = self.lock();
        f.drop_every = (n > 0).then_some(n);
        f.next_drop = f.drop_every.map(|n| f.delivered + n);
    }

    /// End the stream with 410 Expired once `n` events in total were delivered.
    pub fn expire_at(&self, n: u64) {
        let mut f = self.lock();
        f.expire_at.push(n);
        f.expire_at.sort_unstable();
    }

    /// Answer the next `count` list/watch/get requests with `fault`.
    pub fn fail_next(&self, count: usize, fault: HttpFault) {
        let mut f = self.lock();
        f.http_errors.extend(std::iter::repeat_n(fault, count));
    }

    /// Answer the next `count` watch requests with a bare HTTP 410 (no stream).
    pub fn bare_410_on_next_watches(&self, count: u32) {
        self.lock().bare_410_watches += count;
    }

    /// Watch streams with an id up to `id` send nothing (no events, no bookmarks) and
    /// keep the connection open; 0 stops stalling.
    pub fn stall_up_to(&self, id: u64) {
        self.lock().stall_up_to = id;
    }

    /// Close a watch whose client has not taken a written chunk within `limit` (its
    /// buffers are full: it stopped reading), as the API server closes the watchers
    /// it finds unresponsive. The stream just ends. `None` stops it.
    pub fn close_unresponsive_after(&self, limit: Option<std::time::Duration>) {
        self.lock().unresponsive_after = limit;
    }

    /// Watches closed as unresponsive so far.
    pub fn unresponsive_closes(&self) -> u64 {
        self.lock().unresponsive_closes
    }

    pub(super) fn unresponsive_after(&self) -> Option<std::time::Duration> {
        self.lock().unresponsive_after
    }

    pub(super) fn count_unresponsive_close(&self) {
        self.lock().unresponsive_closes += 1;
    }

    /// Events written to watch streams so far.
    pub fn delivered(&self) -> u64 {
        self.lock().delivered
    }

    pub(super) fn next_http_error(&self) -> Option<HttpFault> {
        self.lock().http_errors.pop_front()
    }

    pub(super) fn take_bare_410(&self) -> bool {
        let mut f = self.lock();
        if f.bare_410_watches > 0 {
            f.bare_410_watches -= 1;
            true
        } else {
            false
        }
    }

    pub(super) fn stalled(&self, watch_id: u64) -> bool {
        watch_id <= self.lock().stall_up_to
    }

    /// Takes up to `want` events from the budget; says how many may be written and what
    /// to do after them.
    pub(super) fn take(&self, want: usize) -> (usize, Option<StreamAction>) {
        let mut f = self.lock();
        let next_expire = f.expire_at.iter().copied().find(|&n| n > f.delivered);
        let trigger = [f.next_drop, next_expire].into_iter().flatten().min();
        let allowed = match trigger {
            Some(t) => (want as u64).min(t - f.delivered) as usize,
            None => want,
        };
        f.delivered += allowed as u64;
        let action = match trigger {
            Some(t) if f.delivered == t => {
                if next_expire == Some(t) {
                    f.expire_at.retain(|&n| n != t);
                    if f.next_drop == Some(t) {
                        f.next_drop = f.drop_every.map(|n| t + n);
                    }
                    Some(StreamAction::Expire)
                } else {
                    f.next_drop = f.drop_every.map(|n| t + n);
                    Some(StreamAction::Drop)
                }
            }
            _ => None,
        };
        (allowed, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_ends_exactly_at_the_planned_counts() {
        let plan = FaultPlan::default();
        plan.drop_every(10);
        plan.expire_at(15);
        assert_eq!(plan.take(7), (7, None));
        assert_eq!(plan.take(7), (3, Some(StreamAction::Drop)));
        assert_eq!(plan.take(100), (5, Some(StreamAction::Expire)));
        assert_eq!(plan.take(100), (5, Some(StreamAction::Drop)));
        assert_eq!(plan.delivered(), 20);
    }
}
