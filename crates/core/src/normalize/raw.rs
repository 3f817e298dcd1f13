//! [`KubeEvent`]: the wire shape of a core/v1 or events.k8s.io/v1 Event, as lenient as
//! the objects recorded in the wild require.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::owners::OwnerChain;

/// A Kubernetes Event of either API group, as read from JSON or YAML.
///
/// Every field is optional here; the normalizer decides what is required. Fields of
/// both shapes sit side by side (`involvedObject` / `regarding`, `message` / `note`, …)
/// so one pass of serde reads either group without an intermediate `Value`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeEvent {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: KubeMeta,

    pub r#type: Option<String>,
    pub reason: Option<String>,
    pub action: Option<String>,

    /// core/v1
    pub message: Option<String>,
    /// events.k8s.io/v1
    pub note: Option<String>,

    /// core/v1
    pub involved_object: Option<KubeObjectRef>,
    /// events.k8s.io/v1
    pub regarding: Option<KubeObjectRef>,
    pub related: Option<KubeObjectRef>,

    /// core/v1
    pub source: Option<KubeEventSource>,
    /// events.k8s.io/v1
    pub deprecated_source: Option<KubeEventSource>,
    /// core/v1
    pub reporting_component: Option<String>,
    /// events.k8s.io/v1
    pub reporting_controller: Option<String>,
    pub reporting_instance: Option<String>,

    /// core/v1
    pub first_timestamp: Option<String>,
    /// core/v1
    pub last_timestamp: Option<String>,
    /// events.k8s.io/v1
    pub deprecated_first_timestamp: Option<String>,
    /// events.k8s.io/v1
    pub deprecated_last_timestamp: Option<String>,
    pub event_time: Option<String>,

    /// core/v1
    #[serde(deserialize_with = "lenient_count")]
    pub count: Option<i64>,
    /// events.k8s.io/v1
    #[serde(deserialize_with = "lenient_count")]
    pub deprecated_count: Option<i64>,
    pub series: Option<KubeEventSeries>,

    /// Not part of the API object: the involved object's owners, when the source knows
    /// them (kev-kube-source reads them from `ownerReferences`).
    #[serde(skip)]
    pub owners: OwnerChain,
}

/// The part of `metadata` kev keeps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeMeta {
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub namespace: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub uid: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub resource_version: Option<String>,
    pub creation_timestamp: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// `involvedObject`, `regarding` or `related`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeObjectRef {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub namespace: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub uid: Option<String>,
    pub field_path: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub resource_version: Option<String>,
}

/// core/v1 `source`, events.k8s.io/v1 `deprecatedSource`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct KubeEventSource {
    pub component: Option<String>,
    pub host: Option<String>,
}

/// `series` of either group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeEventSeries {
    #[serde(deserialize_with = "lenient_count")]
    pub count: Option<i64>,
    pub last_observed_time: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Names and versions are strings, but unquoted in hand-written YAML (`resourceVersion:
/// 14216`, a Node named `1`) they arrive as numbers.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct StringVisitor;

    impl<'de> serde::de::Visitor<'de> for StringVisitor {
        type Value = Option<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }

        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }

    d.deserialize_option(StringVisitor)
}

/// Counts are integers, but hand-edited YAML sometimes quotes them. A visitor rather
/// than an untagged enum: this runs for every event and must not buffer.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct CountVisitor;

    impl<'de> serde::de::Visitor<'de> for CountVisitor {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer count")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(i64::try_from(v).unwrap_or(i64::MAX)))
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            if s.is_empty() || s == "null" {
                return Ok(None);
            }
            s.trim()
                .parse()
                .map(Some)
                .map_err(|_| E::custom(format!("count: not an integer: {s:?}")))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }

    d.deserialize_option(CountVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_yaml_numbers_are_read_as_strings() {
        let raw: KubeEvent = serde_norway::from_str(
            "metadata:\n  name: 1\n  resourceVersion: 14216\ninvolvedObject:\n  name: 7\ncount: '3'\n",
        )
        .unwrap();
        assert_eq!(raw.metadata.name.as_deref(), Some("1"));
        assert_eq!(raw.metadata.resource_version.as_deref(), Some("14216"));
        assert_eq!(raw.involved_object.unwrap().name.as_deref(), Some("7"));
        assert_eq!(raw.count, Some(3));
        let raw: KubeEvent =
            serde_json::from_str(r#"{"metadata": {"name": null}, "count": null}"#).unwrap();
        assert_eq!(raw.metadata.name, None);
        assert_eq!(raw.count, None);
    }
}
