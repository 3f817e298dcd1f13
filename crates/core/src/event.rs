//! The normalized [`Event`]: one model for core/v1 and events.k8s.io/v1 Events.
//!
//! Its JSON form (camelCase, documented in `docs/event-json.md`) is stable: it is what
//! sinks receive and what `kev query -o json` prints.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::owners::chain::OwnerChain;

/// `type` of an Event. The API server only accepts Normal and Warning for
/// events.k8s.io/v1, but core/v1 Events recorded in the wild carry other values and
/// sometimes none, so anything else is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum EventType {
    #[default]
    Normal,
    Warning,
    /// Any other value, including the empty string when the field was missing.
    Other(String),
}

impl EventType {
    /// Parses the API value; `Normal` and `Warning` are matched exactly, as the API server does.
    ///
    /// ```
    /// use kev_core::EventType;
    /// assert_eq!(EventType::parse("Warning"), EventType::Warning);
    /// assert_eq!(EventType::parse(""), EventType::Other(String::new()));
    /// ```
    pub fn parse(value: &str) -> Self {
        match value {
            "Normal" => Self::Normal,
            "Warning" => Self::Warning,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API string for this type.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
            Self::Other(s) => s,
        }
    }

    /// A label value from a bounded set, for metrics: `Normal`, `Warning` or `Other`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
            Self::Other(_) => "Other",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// A reference to a Kubernetes object: an Event's regarding/involved object or its
/// related object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

impl ObjectRef {
    /// `kind/name`, as `kubectl get events` prints the OBJECT column.
    ///
    /// ```
    /// let o = kev_core::ObjectRef { kind: "Pod".into(), name: "web-0".into(), ..Default::default() };
    /// assert_eq!(o.kind_name(), "pod/web-0");
    /// ```
    pub fn kind_name(&self) -> String {
        format!("{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// The stable idempotency key of one version of an Event: `uid` + `resourceVersion`.
/// Receivers use it to drop repeats of at-least-once delivery; stores use it to dedup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Builds the key from its two parts; `/` cannot occur in a uid, so it separates them.
    pub fn new(uid: &str, resource_version: &str) -> Self {
        Self(format!("{uid}/{resource_version}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One occurrence (one version) of a Kubernetes Event, in kev's model.
///
/// Fields that the source object did not have stay empty (`""`, `None`, empty maps).
///
/// ```
/// use kev_core::{Event, EventType};
/// let e = Event { uid: "u1".into(), resource_version: "42".into(), r#type: EventType::Warning, ..Default::default() };
/// assert_eq!(e.idempotency_key().as_str(), "u1/42");
/// let json = serde_json::to_string(&e).unwrap();
/// assert!(json.contains("\"type\":\"Warning\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    /// Name of the cluster the event came from (config `cluster`), stamped by kev.
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub r#type: EventType,
    pub reason: String,
    /// core/v1 `message`, events.k8s.io/v1 `note`; truncated and redacted by the normalizer.
    pub message: String,
    pub action: String,
    /// core/v1 `involvedObject`, events.k8s.io/v1 `regarding`.
    pub regarding: ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectRef>,
    /// The owners of `regarding`, nearest first (see [`OwnerChain`]).
    #[serde(skip_serializing_if = "OwnerChain::is_empty")]
    pub owners: OwnerChain,
    /// events.k8s.io/v1 `reportingController`, else core/v1 `reportingComponent`, else `source.component`.
    pub reporting_controller: String,
    pub reporting_instance: String,
    /// core/v1 `source.host` (events.k8s.io/v1 `deprecatedSource.host`).
    pub source_host: String,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// How many times this event occurred: series count, else `count`, at least 1.
    pub count: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// True when the normalizer cut the message to the configured size.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Event {
    /// `uid` + `resourceVersion`; see [`IdempotencyKey`].
    pub fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::new(&self.uid, &self.resource_version)
    }

    /// The time the event last happened, the one kev orders and retains by.
    pub fn time(&self) -> Option<Timestamp> {
        self.last_seen.or(self.first_seen)
    }
}
