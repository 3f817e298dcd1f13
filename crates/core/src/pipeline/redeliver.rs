//! Dead letters sent again (`kev dead-letter retry`) or given up on (`drop`).
//!
//! A retried letter goes to the sinks of its route that bear the name it was refused by,
//! with the event exactly as stored, so its idempotency key (`uid` + `resourceVersion`)
//! is the original one. It leaves the list only once every one of them acknowledged it;
//! a failure keeps it, with the new error. One attempt per retry: a user (or a script)
//! runs the command again.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::enrich::{Enricher, EventContext};
use crate::sink::{Batch, Sink};
use crate::store::dead_letters::DeadLetterSelect;
use crate::store::telemetry::record_dead_letters_removed;
use crate::store::{AsyncStore, DeadLetter, Result, StoreOp, StoredEvent};

/// What a route delivers with: its sinks and its enricher.
#[derive(Debug, Clone, Default)]
pub struct RouteTarget {
    pub sinks: Vec<Arc<dyn Sink>>,
    pub enricher: Option<Arc<dyn Enricher>>,
}

/// The routes a retry may deliver to, by name.
pub type RouteTargets = HashMap<String, RouteTarget>;

/// What one retry did with the dead letters it selected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryReport {
    /// Dead letters the selection matched.
    pub selected: u64,
    /// Delivered and removed from the list.
    pub delivered: u64,
    /// Refused again: kept, with the new error.
    pub failed: u64,
    /// Kept because no route of that name (or no sink of that name in it) runs.
    pub no_route: u64,
}

/// Sends the dead letters `select` picks to their routes in `targets`, oldest first.
pub async fn retry(
    store: &AsyncStore,
    targets: &RouteTargets,
    select: DeadLetterSelect,
) -> Result<RetryReport> {
    let letters = store.run(StoreOp::Read, move |s| select.pick(s)).await?;
    let mut report = RetryReport {
        selected: letters.len() as u64,
        ..RetryReport::default()
    };
    for letter in letters {
        let sinks: Vec<&Arc<dyn Sink>> = targets
            .get(&letter.route)
            .map(|t| t.sinks.iter().filter(|s| s.name() == letter.sink).collect())
            .unwrap_or_default();
        if sinks.is_empty() {
            tracing::warn!(route = %letter.route, sink = %letter.sink, seq = letter.seq, "no such route or sink runs; the dead letter is kept");
            report.no_route += 1;
            continue;
        }
        let target = &targets[&letter.route];
        match send(&letter, &sinks, target.enricher.as_deref()).await {
            Ok(()) => {
                let removed = store.remove_dead_letters(vec![letter.id]).await?;
                record_dead_letters_removed(&removed);
                report.delivered += 1;
            }
            Err(error) => {
                tracing::warn!(route = %letter.route, sink = %letter.sink, seq = letter.seq, %error, "retried dead letter refused again; kept");
                store
                    .update_dead_letter(DeadLetter {
                        error,
                        at: jiff::Timestamp::now(),
                        ..letter
                    })
                    .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// One attempt at each sink; the first error is the letter's new one.
async fn send(
    letter: &DeadLetter,
    sinks: &[&Arc<dyn Sink>],
    enricher: Option<&dyn Enricher>,
) -> std::result::Result<(), String> {
    let events = [StoredEvent {
        seq: letter.seq,
        event: letter.event.clone(),
    }];
    let mut contexts = Vec::new();
    if let Some(enricher) = enricher {
        let mut context = EventContext::default();
        enricher.enrich(&events[0], &mut context).await;
        contexts.push(context);
    }
    let batch = match enricher {
        Some(_) => Batch::enriched(&events, &contexts),
        None => Batch::new(&events),
    };
    for sink in sinks {
        sink.deliver(batch).await.map_err(|e| e.message)?;
    }
    Ok(())
}

/// Removes the dead letters `select` picks, in one atomic write; returns them.
pub async fn drop_letters(store: &AsyncStore, select: DeadLetterSelect) -> Result<Vec<DeadLetter>> {
    let removed = store
        .run(StoreOp::Write, move |s| {
            let ids: Vec<u64> = select.pick(s)?.iter().map(|l| l.id).collect();
            s.remove_dead_letters(&ids)
        })
        .await?;
    record_dead_letters_removed(&removed);
    Ok(removed)
}
