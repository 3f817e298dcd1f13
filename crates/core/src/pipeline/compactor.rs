//! The retention task: calls [`Store::compact`] in bounded steps, in the background.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics as m;
use crate::store::{AsyncStore, Retention, StoreError};

/// When and how much to compact.
#[derive(Debug, Clone)]
pub struct CompactorConfig {
    pub retention: Retention,
    /// Time between compaction rounds.
    pub interval: Duration,
    /// Events removed per step; a round takes steps until nothing is left to remove,
    /// letting appends in between.
    pub step: u64,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            interval: Duration::from_secs(60),
            step: 10_000,
        }
    }
}

/// One compaction round: steps until the store is within its retention. Returns the
/// number of events removed. (Each backend reports its size and what it removed,
/// [`crate::store::telemetry`].)
pub async fn compact_round(
    store: &AsyncStore,
    config: &CompactorConfig,
) -> Result<u64, StoreError> {
    let mut removed = 0;
    loop {
        let retention = config.retention.clone();
        let step = config.step.max(1);
        let out = store
            .compact(retention, jiff::Timestamp::now(), step)
            .await?;
        removed += out.removed;
        // The store counts what it removed (`kev_store_compacted_total{backend}`).
        if out.evicted_undelivered > 0 {
            tracing::warn!(
                count = out.evicted_undelivered,
                "hard size cap reached: evicted events that a route had not delivered"
            );
        }
        if !out.more {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(removed)
}

/// Runs compaction rounds every `interval` until `shutdown`. A failed round is logged
/// and tried again next time: retention must not stop ingestion.
pub async fn run_compactor(
    store: AsyncStore,
    config: CompactorConfig,
    shutdown: CancellationToken,
) {
    // The hard caps, past which undelivered events are evicted: what "near its cap" is
    // measured against.
    let caps = [
        (m::STORE_CAP_EVENTS, config.retention.hard_max_events),
        (m::STORE_CAP_BYTES, config.retention.hard_max_bytes),
    ];
    for (name, cap) in caps {
        if let Some(cap) = cap {
            metrics::gauge!(name).set(cap as f64);
        }
    }
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match compact_round(&store, &config).await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "retention removed old events"),
            Err(e) => tracing::error!(error = %e, "compaction failed; retrying next round"),
        }
    }
}
