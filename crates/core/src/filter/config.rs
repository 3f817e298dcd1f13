//! [`FilterConfig`] and [`RuleConfig`]: the `match` / `drop` rule lists as written in YAML.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Which events to keep, with kubernetes-event-exporter's route semantics: an event is
/// kept when `match` is empty or any `match` rule matches it, and no `drop` rule does.
///
/// ```
/// use kev_core::{Event, EventType, Filter, FilterConfig, SelectorFilter};
/// let config: FilterConfig = serde_norway::from_str(r#"
/// match:
///   - type: Warning
/// drop:
///   - namespace: kube-system
/// "#).unwrap();
/// let filter = SelectorFilter::compile(&config).unwrap();
/// let warning = Event { r#type: EventType::Warning, namespace: "web".into(), ..Default::default() };
/// assert!(filter.keep(&warning));
/// assert!(!filter.keep(&Event { namespace: "kube-system".into(), ..warning }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Keep an event when any of these rules matches it. Empty (the default): every
    /// event is a candidate, and only `drop` removes some.
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<RuleConfig>,
    /// Drop an event when any of these rules matches it, even when a `match` rule did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<RuleConfig>,
}

/// One selector: it matches an event when **every** field set in it matches (AND).
/// A rule must set at least one field. Lists match when any of their values does (OR).
/// Regexes use the `regex` crate's syntax and match anywhere in the text unless
/// anchored with `^…$`; prefix `(?i)` to ignore case.
///
/// ```
/// use kev_core::RuleConfig;
/// let rule: RuleConfig = serde_norway::from_str(
///     "{type: Warning, reason: [BackOff, Failed], kind: pod, not: {namespace: kube-system}}",
/// ).unwrap();
/// assert_eq!(rule.reason.unwrap().values(), ["BackOff", "Failed"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Event `type`: `Warning`, `Normal` (or any other value a cluster uses); one value or
    /// a list, compared ignoring ASCII case.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<OneOrMany>,
    /// Event `reason` (`BackOff`, `FailedScheduling`, …): one value or a list, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<OneOrMany>,
    /// A regex the event's `reason` must match, e.g. `^Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_regex: Option<String>,
    /// Kind of the involved (regarding) object: one value or a list, compared ignoring
    /// ASCII case (`pod` matches `Pod`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OneOrMany>,
    /// The event's namespace: one value or a list, exact. Events about cluster-scoped
    /// objects (nodes) usually live in `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<OneOrMany>,
    /// A regex the involved object's name must match, e.g. `^web-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels of the Event object: each one given must be present with this exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// A regex the event's message must match, e.g. `(?i)out of memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The event occurred at least this many times (`count`, or the series count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    /// The controller that reported the event (`kubelet`, `default-scheduler`, …): one
    /// value or a list, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_controller: Option<OneOrMany>,
    /// Every one of these rules must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<RuleConfig>>,
    /// At least one of these rules must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<RuleConfig>>,
    /// This rule must not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<RuleConfig>>,
}

/// A config value written as one string or a list of strings: `reason: BackOff` or
/// `reason: [BackOff, Failed]`. Serialized as a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OneOrMany(pub Vec<String>);

impl OneOrMany {
    /// The values, one or more (an empty list is refused when the rule is compiled).
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

impl<S: Into<String>> From<S> for OneOrMany {
    fn from(value: S) -> Self {
        Self(vec![value.into()])
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element::<String>()? {
                    values.push(v);
                }
                Ok(OneOrMany(values))
            }
        }

        d.deserialize_any(OneOrManyVisitor)
    }
}
