//! Owner chains: who owns an event's involved object (Pod → ReplicaSet → Deployment),
//! kept with the event so that the history of a workload can be found after its pods
//! and ReplicaSets are gone.
//!
//! A source that can ask the API server (kev-kube-source) reads the chain from the
//! objects' `ownerReferences`; elsewhere ([`infer_chain`]) it follows from generated
//! names, the same rules as the remediation key's ([`crate::remediation::owner_of`]),
//! and is marked [`OwnerChain::inferred`].

pub(crate) mod chain;
mod infer;
pub(crate) mod names;

pub use chain::{OwnerChain, OwnerLink};
pub use infer::infer_chain;
