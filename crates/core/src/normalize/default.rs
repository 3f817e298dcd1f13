//! [`DefaultNormalizer`]: maps core/v1 and events.k8s.io/v1 Events onto [`Event`],
//! picks their times and counts, truncates and redacts messages.
//!
//! The mapping, field by field, is documented in `docs/event-json.md`.

use super::config::NormalizeConfig;
use super::identity::{derive_resource_version, derive_uid};
use super::redact::Redactor;
use super::time::{self, is_absent};
use super::truncate::truncate_utf8;
use super::{KubeEvent, KubeEventSource, KubeObjectRef, NormalizeError, Normalizer};
use crate::config::ConfigError;
use crate::event::{Event, EventType, ObjectRef};
use crate::metrics as m;

/// The normalizer kev uses unless told otherwise.
///
/// ```
/// use kev_core::{DefaultNormalizer, NormalizeConfig, EventType};
/// let n = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
/// let e = n.normalize_json(br#"{
///     "apiVersion": "events.k8s.io/v1", "kind": "Event",
///     "metadata": {"name": "web-0.17a", "namespace": "shop", "uid": "u-1", "resourceVersion": "9"},
///     "regarding": {"kind": "Pod", "namespace": "shop", "name": "web-0"},
///     "type": "Warning", "reason": "BackOff", "note": "Back-off restarting failed container",
///     "eventTime": "2024-05-01T10:00:00.000000Z",
///     "series": {"count": 7, "lastObservedTime": "2024-05-01T10:06:00.000000Z"}
/// }"#).unwrap();
/// assert_eq!(e.r#type, EventType::Warning);
/// assert_eq!(e.count, 7);
/// assert_eq!(e.regarding.kind_name(), "pod/web-0");
/// assert_eq!(e.last_seen.unwrap().to_string(), "2024-05-01T10:06:00Z");
/// ```
#[derive(Debug, Clone)]
pub struct DefaultNormalizer {
    max_message_bytes: usize,
    redactor: Redactor,
}

impl DefaultNormalizer {
    /// Builds the normalizer; an invalid `redact` regex is an error naming `redact[i]`.
    pub fn new(config: &NormalizeConfig) -> Result<Self, ConfigError> {
        if config.max_message_bytes == 0 {
            return Err(ConfigError::new("max_message_bytes", "must be at least 1"));
        }
        Ok(Self {
            max_message_bytes: config.max_message_bytes,
            redactor: Redactor::new(&config.redact)?,
        })
    }

    /// The redaction of messages, for the context routes gather (`Route::redactor`).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Normalizes an Event from its JSON bytes, without an intermediate `Value`.
    pub fn normalize_json(&self, bytes: &[u8]) -> Result<Event, NormalizeError> {
        let raw: KubeEvent =
            serde_json::from_slice(bytes).map_err(|e| NormalizeError::Malformed(e.to_string()))?;
        self.normalize(raw)
    }

    /// Redacts, then truncates (so a cut can never leave half a secret); counts both.
    fn clean_message(&self, message: &mut String, truncated: &mut bool) {
        if let Some(redacted) = self.redactor.redact(message) {
            *message = redacted;
            metrics::counter!(m::MESSAGES_REDACTED_TOTAL).increment(1);
        }
        if truncate_utf8(message, self.max_message_bytes) {
            *truncated = true;
            metrics::counter!(m::MESSAGES_TRUNCATED_TOTAL).increment(1);
        }
    }
}

impl Normalizer for DefaultNormalizer {
    fn normalize(&self, raw: KubeEvent) -> Result<Event, NormalizeError> {
        if let Some(kind) = raw.kind.as_deref()
            && !kind.is_empty()
            && kind != "Event"
        {
            return Err(NormalizeError::NotAnEvent(kind.to_owned()));
        }
        let events_api = raw
            .api_version
            .as_deref()
            .is_some_and(|v| v.starts_with("events.k8s.io/"));
        let times = time::pick(&raw)?;

        let KubeEvent {
            metadata,
            r#type,
            reason,
            action,
            message,
            note,
            involved_object,
            regarding,
            related,
            source,
            deprecated_source,
            reporting_component,
            reporting_controller,
            reporting_instance,
            count,
            deprecated_count,
            series,
            owners,
            ..
        } = raw;

        let regarding = if events_api {
            regarding.or(involved_object)
        } else {
            involved_object.or(regarding)
        };
        let regarding = regarding.ok_or(NormalizeError::MissingField(if events_api {
            "regarding"
        } else {
            "involvedObject"
        }))?;
        let regarding = object_ref(regarding);

        let count = series
            .as_ref()
            .and_then(|s| s.count)
            .or(count)
            .or(deprecated_count)
            .unwrap_or(1)
            .clamp(1, i64::from(u32::MAX));
        let count = u32::try_from(count).unwrap_or(u32::MAX);

        let message = [message, note]
            .into_iter()
            .flatten()
            .find(|m| !m.is_empty())
            .unwrap_or_default();

        let namespace = metadata.namespace.unwrap_or_default();
        let name = metadata.name.unwrap_or_default();
        let reason = reason.unwrap_or_default();
        let uid = match metadata.uid.filter(|u| !u.is_empty()) {
            Some(uid) => uid,
            None => derive_uid(&namespace, &name, &regarding, &reason),
        };
        let resource_version = match metadata.resource_version.filter(|v| !v.is_empty()) {
            Some(rv) => rv,
            None => derive_resource_version(times.last_seen, count, &message),
        };

        let (source_component, source_host) = split_source(source);
        let (deprecated_component, deprecated_host) = split_source(deprecated_source);
        let reporting_controller = present(reporting_controller)
            .or_else(|| present(reporting_component))
            .or(source_component)
            .or(deprecated_component)
            .unwrap_or_default();

        let mut event = Event {
            cluster: String::new(),
            namespace,
            name,
            uid,
            resource_version,
            r#type: EventType::parse(r#type.as_deref().unwrap_or_default()),
            reason,
            message,
            action: action.unwrap_or_default(),
            regarding,
            related: related.map(object_ref),
            owners,
            reporting_controller,
            reporting_instance: present(reporting_instance).unwrap_or_default(),
            source_host: source_host.or(deprecated_host).unwrap_or_default(),
            first_seen: times.first_seen,
            last_seen: times.last_seen,
            count,
            labels: metadata.labels,
            annotations: metadata.annotations,
            truncated: false,
        };
        self.clean_message(&mut event.message, &mut event.truncated);
        Ok(event)
    }

    fn sanitize(&self, mut event: Event) -> Event {
        self.clean_message(&mut event.message, &mut event.truncated);
        event
    }
}

/// The value unless it is missing, `""` or the string `"null"` (a dumper artefact).
fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !is_absent(v))
}

fn split_source(source: Option<KubeEventSource>) -> (Option<String>, Option<String>) {
    match source {
        Some(s) => (present(s.component), present(s.host)),
        None => (None, None),
    }
}

fn object_ref(o: KubeObjectRef) -> ObjectRef {
    ObjectRef {
        api_version: o.api_version.unwrap_or_default(),
        kind: o.kind.unwrap_or_default(),
        namespace: o.namespace.unwrap_or_default(),
        name: o.name.unwrap_or_default(),
        uid: o.uid.unwrap_or_default(),
        field_path: o.field_path.unwrap_or_default(),
    }
}
