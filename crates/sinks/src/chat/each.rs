//! [`post_each`]: a batch posted one message per event, in order, stopping at the
//! first failure with the count of those posted, so the route sends none of them again.

use std::future::Future;

use kev_core::enrich::EventContext;
use kev_core::{Batch, Event, SinkError};

/// Calls `post` for each event of `batch` in order; a failure carries how many were
/// posted before it ([`SinkError::delivered`]).
pub(crate) async fn post_each<'a, F, Fut>(batch: Batch<'a>, mut post: F) -> Result<(), SinkError>
where
    F: FnMut(&'a Event, Option<&'a EventContext>) -> Fut,
    Fut: Future<Output = Result<(), SinkError>>,
{
    for (done, (stored, context)) in batch.iter().enumerate() {
        post(&stored.event, context)
            .await
            .map_err(|e| e.with_delivered(done))?;
    }
    Ok(())
}
