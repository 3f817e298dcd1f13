//! [`OwnerResolver`]: the owner chains of involved objects, from their
//! `ownerReferences`, without delaying the watch.
//!
//! The source asks the cache for each event's object. A known object's chain goes with
//! the event. An unseen one is queued for the resolver task and its event goes on at
//! once without a chain, so the ingest gives it the chain its name shows (marked
//! inferred); the resolver reads the object and its owners (one GET each, through the
//! client's `qps` budget, owners already known not read again), and the object's later
//! events carry the chain the API gave. An object already deleted keeps its names'
//! chain. The cache is bounded (least recently used go first), and so is the queue: a
//! lookup that does not fit is dropped (`kev_owner_lookups_total{result="dropped"}`)
//! and queued again by a later event.

mod cache;
mod kinds;
mod walk;

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use kev_core::KubeEvent;
use kev_core::metrics as m;
use kev_core::normalize::KubeObjectRef;
use tokio::sync::mpsc;

use cache::{Entry, ObjectKey, OwnerCache};
pub use kinds::WALKED;

/// Lookups waiting for the resolver at most.
const QUEUE: usize = 1024;

/// The cache, and the queue to the resolver task ([`OwnerResolver::task`]).
#[derive(Debug)]
pub struct OwnerResolver {
    cache: Arc<Mutex<OwnerCache>>,
    queue: mpsc::Sender<(String, ObjectKey)>,
    pending: Option<mpsc::Receiver<(String, ObjectKey)>>,
}

impl OwnerResolver {
    /// A resolver remembering the chains of up to `capacity` objects.
    pub fn new(capacity: NonZeroUsize) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        Self {
            cache: Arc::new(Mutex::new(OwnerCache::new(capacity))),
            queue,
            pending: Some(pending),
        }
    }

    /// The resolver task, once; it ends when this resolver is dropped.
    pub fn task(&mut self, client: kube::Client) -> Option<impl Future<Output = ()> + use<>> {
        let pending = self.pending.take()?;
        Some(walk::run(client, self.cache.clone(), pending))
    }

    /// Gives `event` its object's chain when known, else queues the object.
    pub fn attach(&self, event: &mut KubeEvent) {
        let object = event.involved_object.as_ref().or(event.regarding.as_ref());
        let Some((api_version, key, uid)) = object.and_then(|o| key_of(o, event)) else {
            return;
        };
        let found = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .chain(&key, uid);
        match found {
            Ok(chain) => event.owners = chain,
            Err(true) => self.queue(api_version, key),
            Err(false) => {}
        }
    }

    fn queue(&self, api_version: String, key: ObjectKey) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.put(key.clone(), Entry::Pending);
        if let Err(
            mpsc::error::TrySendError::Full((_, key)) | mpsc::error::TrySendError::Closed((_, key)),
        ) = self.queue.try_send((api_version, key))
        {
            cache.forget_pending(&key);
            metrics::counter!(m::OWNER_LOOKUPS_TOTAL, "result" => "dropped").increment(1);
        }
    }
}

/// The object's api version, key and uid, for an object of a kind the walk reads.
fn key_of<'a>(o: &'a KubeObjectRef, event: &KubeEvent) -> Option<(String, ObjectKey, &'a str)> {
    let kind = o.kind.as_deref()?;
    let api_version = o.api_version.clone().unwrap_or_default();
    kinds::walked(&api_version, kind)?;
    let name = o.name.as_deref().filter(|n| !n.is_empty())?;
    let namespace = o
        .namespace
        .as_deref()
        .or(event.metadata.namespace.as_deref())
        .filter(|n| !n.is_empty())?;
    let key = ObjectKey {
        namespace: namespace.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
    };
    Some((api_version, key, o.uid.as_deref().unwrap_or_default()))
}
