//! Rebuilding the tracker from the store at start: the events of the last quiet period
//! are what can still hold an object in a condition.

use jiff::{SignedDuration, Timestamp};

use super::{ConditionClock, ConditionTracker};
use crate::store::{AsyncStore, Order, Query, StoreError};

/// Feeds `tracker` the stored events of the last quiet period, oldest first.
pub async fn rebuild(
    tracker: std::sync::Arc<ConditionTracker>,
    store: &AsyncStore,
) -> Result<(), StoreError> {
    let anchor = match tracker.config().clock {
        ConditionClock::Wall => Timestamp::now(),
        ConditionClock::Events => {
            let last = store.last_seq().await?;
            let newest = store.read_log(last, 1).await?;
            match newest.first().and_then(|e| e.event.time()) {
                Some(t) => t,
                None => return Ok(()),
            }
        }
    };
    let quiet =
        SignedDuration::try_from(tracker.config().quiet_period).unwrap_or(SignedDuration::MAX);
    let query = Query {
        since: anchor.checked_sub(quiet).ok(),
        order: Order::OldestFirst,
        ..Query::default()
    };
    store
        .query_each(query, tracker, |tracker, stored| {
            tracker.observe(&stored.event);
            true
        })
        .await?;
    Ok(())
}
