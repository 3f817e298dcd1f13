//! The OTLP request for a batch: one `ResourceLogs` per event (the involved object is
//! the resource, as the collector's `k8seventsreceiver` has it), one `LogRecord` in it.
//! The attribute names are the receiver's; the table is in docs/config.md.

use std::collections::BTreeMap;

use kev_core::enrich::EventContext;
use kev_core::{Event, EventType, SinkError, StoredEvent};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::template::Template;

/// The instrumentation scope named on every record.
const SCOPE: &str = "dev.kev";

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// `Warning` is WARN, `Normal` INFO, anything else unspecified; the text is the type.
fn severity(kind: &EventType) -> SeverityNumber {
    match kind {
        EventType::Warning => SeverityNumber::Warn,
        EventType::Normal => SeverityNumber::Info,
        EventType::Other(_) => SeverityNumber::Unspecified,
    }
}

fn nanos(t: Option<jiff::Timestamp>) -> u64 {
    t.map_or(0, |t| u64::try_from(t.as_nanosecond()).unwrap_or(0))
}

/// The export request for `events`, with `extra` resource attributes on each and the
/// body rendered by `template` (else the event's message).
///
/// ```
/// use kev_core::{Event, EventType, StoredEvent};
/// let e = Event { cluster: "prod".into(), reason: "BackOff".into(), r#type: EventType::Warning, ..Default::default() };
/// let req = kev_sinks::otlp::export_request(&[(&StoredEvent { seq: 1, event: e }, None)], &Default::default(), None).unwrap();
/// let resource = req.resource_logs[0].resource.as_ref().unwrap();
/// assert!(resource.attributes.iter().any(|a| a.key == "k8s.cluster.name"));
/// assert_eq!(req.resource_logs[0].scope_logs[0].log_records[0].severity_text, "Warning");
/// ```
pub fn export_request(
    events: &[(&StoredEvent, Option<&EventContext>)],
    extra: &BTreeMap<String, String>,
    template: Option<&Template>,
) -> Result<ExportLogsServiceRequest, SinkError> {
    let observed = nanos(Some(jiff::Timestamp::now()));
    let resource_logs = events
        .iter()
        .map(|(stored, context)| {
            let event = &stored.event;
            let body = match template {
                Some(t) => t.render(event, *context)?,
                None => event.message.clone(),
            };
            Ok(ResourceLogs {
                resource: Some(Resource {
                    attributes: resource_attributes(event, extra),
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: SCOPE.to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    log_records: vec![record(event, body, observed)],
                    ..Default::default()
                }],
                ..Default::default()
            })
        })
        .collect::<Result<_, SinkError>>()?;
    Ok(ExportLogsServiceRequest { resource_logs })
}

fn resource_attributes(event: &Event, extra: &BTreeMap<String, String>) -> Vec<KeyValue> {
    let object = &event.regarding;
    let mut attributes = vec![string("k8s.cluster.name", &event.cluster)];
    let optional = [
        ("k8s.node.name", &event.source_host),
        ("k8s.object.kind", &object.kind),
        ("k8s.object.name", &object.name),
        ("k8s.object.uid", &object.uid),
        ("k8s.object.fieldpath", &object.field_path),
        ("k8s.object.api_version", &object.api_version),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| string(k, v)),
    );
    attributes.extend(extra.iter().map(|(k, v)| string(k, v)));
    attributes
}

fn record(event: &Event, body: String, observed: u64) -> LogRecord {
    let mut attributes = vec![
        string("k8s.event.reason", &event.reason),
        string("k8s.event.action", &event.action),
        string("k8s.event.name", &event.name),
        string("k8s.event.uid", &event.uid),
        string("k8s.namespace.name", &event.namespace),
        int("k8s.event.count", i64::from(event.count)),
        // Lets a backend drop a record kev delivered twice (at least once).
        string("kev.event.key", event.idempotency_key().as_str()),
    ];
    if let Some(first) = event.first_seen {
        attributes.push(string("k8s.event.start_time", &first.to_string()));
    }
    if !event.reporting_controller.is_empty() {
        attributes.push(string(
            "k8s.event.reporting_controller",
            &event.reporting_controller,
        ));
    }
    let kind = severity(&event.r#type);
    LogRecord {
        time_unix_nano: nanos(event.time()),
        observed_time_unix_nano: observed,
        severity_number: kind as i32,
        severity_text: event.r#type.as_str().to_owned(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes,
        ..Default::default()
    }
}
