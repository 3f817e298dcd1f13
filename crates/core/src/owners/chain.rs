//! [`OwnerChain`]: the model of an object's owners.

use serde::{Deserialize, Serialize};

/// One owner in a chain: its kind, name and, when read from the API, uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerLink {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl OwnerLink {
    pub fn new(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: String::new(),
        }
    }
}

/// The owners of an event's involved object, nearest first: for a Deployment's pod
/// `[ReplicaSet web-7d4b9c8f6, Deployment web]`. Empty for an object that stands alone
/// (a Node, a bare Pod) or whose owners are not known.
///
/// ```
/// use kev_core::owners::{OwnerChain, OwnerLink};
/// let chain = OwnerChain { links: vec![OwnerLink::new("ReplicaSet", "web-7d4b9c8f6"), OwnerLink::new("Deployment", "web")], inferred: true };
/// assert_eq!(chain.root().map(|l| l.name.as_str()), Some("web"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerChain {
    pub links: Vec<OwnerLink>,
    /// True when the chain follows from names, not from the objects' `ownerReferences`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

impl OwnerChain {
    /// No owner known.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The outermost owner (the Deployment, StatefulSet, CronJob …), if any.
    pub fn root(&self) -> Option<&OwnerLink> {
        self.links.last()
    }
}
