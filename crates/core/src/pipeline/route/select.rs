//! Which events of a batch a route delivers: its filter, then its rate limiter, then its
//! remediation gate, each decision counted in the batch's [`Tally`].

use super::stats::Tally;
use crate::filter::Filter;
use crate::ratelimit::{Decision, RateLimiter};
use crate::remediation::{GateDecision, RemediationGate};
use crate::store::{AsyncStore, Result, StoreOp, StoredEvent};

/// Filter and rate limiter: the events they let through.
pub(super) fn select(
    filter: &dyn Filter,
    mut limiter: Option<&mut (dyn RateLimiter + 'static)>,
    batch: Vec<StoredEvent>,
    tally: &mut Tally,
) -> Vec<StoredEvent> {
    let mut selected = Vec::with_capacity(batch.len());
    for stored in batch {
        if !filter.keep(&stored.event) {
            tally.filtered += 1;
            continue;
        }
        tally.matched += 1;
        let decision = limiter
            .as_mut()
            .map_or(Decision::Allow, |l| l.decide(&stored.event));
        tally.limiter(decision);
        if decision == Decision::Allow {
            selected.push(stored);
        }
    }
    selected
}

/// The events the remediation gate fires for. The gate reads and writes its durable
/// records, so it runs on the blocking pool.
pub(super) async fn gate(
    gate: Option<&RemediationGate>,
    store: &AsyncStore,
    selected: Vec<StoredEvent>,
    tally: &mut Tally,
) -> Result<Vec<StoredEvent>> {
    let Some(gate) = gate.filter(|_| !selected.is_empty()).cloned() else {
        return Ok(selected);
    };
    let (kept, decisions) = store
        .run(StoreOp::Write, move |s| {
            let mut kept = Vec::with_capacity(selected.len());
            let mut decisions = Vec::with_capacity(selected.len());
            for stored in selected {
                let decision = gate.admit(s, &stored.event)?;
                if decision == GateDecision::Fire {
                    kept.push(stored);
                }
                decisions.push(decision);
            }
            Ok((kept, decisions))
        })
        .await?;
    for decision in &decisions {
        tally.gate(decision);
    }
    Ok(kept)
}
