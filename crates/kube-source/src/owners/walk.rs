//! The resolver task: reads each queued object and its owners from the API server and
//! puts their chains into the cache.

use std::sync::{Arc, Mutex, PoisonError};

use kev_core::metrics as m;
use kev_core::owners::infer_chain;
use kev_core::{ObjectRef, OwnerChain, OwnerLink};
use kube::api::{Api, DynamicObject};
use tokio::sync::mpsc;

use super::cache::{Entry, ObjectKey, OwnerCache};
use super::kinds::walked;

/// Owners read at most above one object (Pod → ReplicaSet → Deployment is 2; operators
/// add a few).
const MAX_DEPTH: usize = 8;

/// What the API server said about one object.
enum Read {
    /// Its uid and its controlling owner (else its first owner), if any.
    Found {
        uid: String,
        owner: Option<Owner>,
    },
    /// 404: deleted since the event.
    Gone,
    Failed,
}

/// An owner reference.
struct Owner {
    api_version: String,
    link: OwnerLink,
}

/// Takes queued objects one at a time until the source is dropped. One at a time keeps
/// the lookups a trickle inside the client's `qps` budget, after the watches.
pub async fn run(
    client: kube::Client,
    cache: Arc<Mutex<OwnerCache>>,
    mut queue: mpsc::Receiver<(String, ObjectKey)>,
) {
    while let Some((api_version, key)) = queue.recv().await {
        resolve(&client, &cache, api_version, key).await;
    }
}

/// Walks up from `key` until an owner whose chain is known, an owner kev does not read,
/// an object without owners, or one the API does not have (its names' chain is used),
/// then caches the chain of every object on the way.
async fn resolve(
    client: &kube::Client,
    cache: &Mutex<OwnerCache>,
    api_version: String,
    key: ObjectKey,
) {
    let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
    // (object, its uid, its owner link)
    let mut path: Vec<(ObjectKey, String, Option<OwnerLink>)> = Vec::new();
    let mut tail = OwnerChain::default();
    let (mut api_version, mut current) = (api_version, key);
    while path.len() < MAX_DEPTH {
        if !path.is_empty()
            && let Ok(chain) = lock().chain(&current, "")
        {
            tail = chain;
            break;
        }
        match read(client, &api_version, &current).await {
            Read::Found { uid, owner } => match owner {
                Some(owner) => {
                    let next = walked(&owner.api_version, &owner.link.kind).map(|_| ObjectKey {
                        namespace: current.namespace.clone(),
                        kind: owner.link.kind.clone(),
                        name: owner.link.name.clone(),
                    });
                    path.push((current, uid, Some(owner.link)));
                    match next {
                        Some(next) => {
                            api_version = owner.api_version;
                            current = next;
                        }
                        None => break,
                    }
                }
                None => {
                    path.push((current, uid, None));
                    break;
                }
            },
            Read::Gone | Read::Failed => {
                tail = infer_chain(&ObjectRef {
                    kind: current.kind.clone(),
                    name: current.name.clone(),
                    namespace: current.namespace.clone(),
                    ..Default::default()
                });
                let entry = Entry::Known {
                    uid: String::new(),
                    chain: tail.clone(),
                };
                lock().put(current, entry);
                break;
            }
        }
    }
    let mut chain = tail;
    let mut cache = lock();
    for (key, uid, owner) in path.into_iter().rev() {
        chain = match owner {
            Some(owner) => {
                let mut links = vec![owner];
                links.extend(chain.links);
                OwnerChain {
                    links,
                    inferred: chain.inferred,
                }
            }
            None => OwnerChain::default(),
        };
        cache.put(
            key,
            Entry::Known {
                uid,
                chain: chain.clone(),
            },
        );
    }
}

async fn read(client: &kube::Client, api_version: &str, key: &ObjectKey) -> Read {
    let Some(resource) = walked(api_version, &key.kind) else {
        return Read::Failed;
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &key.namespace, &resource);
    match api.get(&key.name).await {
        Ok(object) => {
            metrics::counter!(m::OWNER_LOOKUPS_TOTAL, "result" => "found").increment(1);
            let refs = object.metadata.owner_references.unwrap_or_default();
            let owner = refs
                .iter()
                .find(|r| r.controller == Some(true))
                .or(refs.first())
                .map(|r| Owner {
                    api_version: r.api_version.clone(),
                    link: OwnerLink {
                        kind: r.kind.clone(),
                        name: r.name.clone(),
                        uid: r.uid.clone(),
                    },
                });
            Read::Found {
                uid: object.metadata.uid.unwrap_or_default(),
                owner,
            }
        }
        Err(kube::Error::Api(status)) if status.is_not_found() => {
            metrics::counter!(m::OWNER_LOOKUPS_TOTAL, "result" => "gone").increment(1);
            Read::Gone
        }
        Err(e) => {
            metrics::counter!(m::OWNER_LOOKUPS_TOTAL, "result" => "failed").increment(1);
            tracing::warn!(kind = %key.kind, namespace = %key.namespace, name = %key.name, error = %e, "cannot read the object's owners; using the chain its name shows");
            Read::Failed
        }
    }
}
