//! The route's cursor: its registration, and commits that run on the blocking pool
//! while the next page is delivered, kept in order.

use std::time::Instant;

use super::stats::RouteReport;
use crate::metrics as m;
use crate::pipeline::stored_at::StoredAt;
use crate::store::{AsyncStore, Result, StoreOp, StoreTask};

/// The route's cursor, registered so that retention waits for the route.
pub(super) async fn register(store: &AsyncStore, route: &str) -> Result<u64> {
    let route = route.to_owned();
    store
        .run(StoreOp::Commit, move |s| {
            let c = s.cursor(&route)?;
            s.commit_cursor(&route, c)?;
            Ok(c)
        })
        .await
}

/// A cursor commit in flight, with what to measure once it is done.
pub(super) struct PendingCommit {
    task: StoreTask<()>,
    through: u64,
    /// Seqs of the events delivered in the page, for `kev_sink_latency_seconds`.
    seqs: Vec<u64>,
    stored_at: StoredAt,
}

impl PendingCommit {
    pub fn start(
        store: &AsyncStore,
        stored_at: &StoredAt,
        route: &str,
        through: u64,
        seqs: Vec<u64>,
    ) -> Self {
        Self {
            task: store.commit_cursor(route, through),
            through,
            seqs,
            stored_at: stored_at.clone(),
        }
    }
}

/// Waits for the commit in flight, if any: the route's cursor is then durable up to its
/// page and those events are acknowledged (stored → acknowledged latency).
pub(super) async fn finish(
    commit: Option<PendingCommit>,
    route: &str,
    report: &mut RouteReport,
) -> Result<()> {
    let Some(commit) = commit else {
        return Ok(());
    };
    commit.task.await?;
    let acknowledged = Instant::now();
    let latency = metrics::histogram!(m::SINK_LATENCY_SECONDS, "route" => route.to_owned());
    for seq in commit.seqs {
        if let Some(stored) = commit.stored_at.lookup(seq) {
            latency.record(acknowledged.duration_since(stored).as_secs_f64());
        }
    }
    report.cursor = commit.through;
    Ok(())
}
