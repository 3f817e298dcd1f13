//! [`RelatedEventsEnricher`]: other events of the same object, from kev's store.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Enricher, EventContext, RelatedEventsConfig};
use crate::store::{AsyncStore, Order, Query, Store, StoredEvent};

/// Fills [`EventContext::related_events`] with the newest events of the event's
/// involved object (same cluster, namespace, kind and name) within the lookback before
/// the event's time, the event itself left out, one entry per event uid.
///
/// ```
/// use std::sync::Arc;
/// use kev_core::enrich::{RelatedEventsConfig, RelatedEventsEnricher};
/// let e = RelatedEventsEnricher::new(Arc::new(kev_core::MemoryStore::new()), RelatedEventsConfig::default());
/// # let _ = e;
/// ```
#[derive(Debug, Clone)]
pub struct RelatedEventsEnricher {
    store: AsyncStore,
    config: RelatedEventsConfig,
}

impl RelatedEventsEnricher {
    pub fn new(store: Arc<dyn Store>, config: RelatedEventsConfig) -> Self {
        Self {
            store: AsyncStore::new(store),
            config,
        }
    }
}

#[async_trait]
impl Enricher for RelatedEventsEnricher {
    async fn enrich(&self, stored: &StoredEvent, context: &mut EventContext) {
        if !self.config.enabled {
            return;
        }
        let event = &stored.event;
        let Some(at) = event.time() else {
            context.fail("related_events", "the event has no time to look back from");
            return;
        };
        let since = jiff::SignedDuration::try_from(self.config.lookback)
            .ok()
            .and_then(|back| at.checked_sub(back).ok());
        let query = Query {
            cluster: Some(event.cluster.clone()),
            namespace: Some(event.namespace.clone()),
            kind: Some(event.regarding.kind.clone()),
            name: Some(event.regarding.name.clone()),
            since,
            // Up to and including the event's own time.
            until: at.checked_add(jiff::SignedDuration::from_nanos(1)).ok(),
            order: Order::NewestFirst,
            // One more than asked for: the event itself may be among them.
            limit: Some(self.config.max + 1),
            collapse: true,
            ..Query::default()
        };
        match self.store.query(query).await {
            Ok(events) => {
                context.related_events = events
                    .into_iter()
                    .filter(|e| e.event.uid != event.uid)
                    .take(self.config.max)
                    .map(|e| e.event)
                    .collect();
            }
            Err(e) => context.fail("related_events", e),
        }
    }
}
