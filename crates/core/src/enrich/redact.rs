//! [`EventContext::redact`]: the normalizer's redaction applied to gathered context, so
//! that pod logs, related events and the spec reach sinks with their secrets replaced.

use serde_json::Value;

use super::EventContext;
use crate::normalize::Redactor;

impl EventContext {
    /// Replaces secrets in every log text, related event message, string of the spec
    /// and failure message.
    ///
    /// ```
    /// use kev_core::enrich::{ContainerLogs, EventContext};
    /// let mut context = EventContext::default();
    /// context.logs.push(ContainerLogs { text: "panic: password=hunter2".into(), ..Default::default() });
    /// context.redact(&kev_core::normalize::Redactor::default());
    /// assert_eq!(context.logs[0].text, "panic: password=[REDACTED]");
    /// ```
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        let redact = |text: &mut String| {
            if let Some(clean) = redactor.redact(text) {
                *text = clean;
            }
        };
        for logs in &mut self.logs {
            redact(&mut logs.text);
        }
        for event in &mut self.related_events {
            redact(&mut event.message);
        }
        if let Some(spec) = &mut self.spec {
            redact_strings(spec, redactor);
        }
        for failure in &mut self.failures {
            redact(&mut failure.error);
        }
    }
}

/// Every string in `value`, keys excluded (they name fields, not secrets).
fn redact_strings(value: &mut Value, redactor: &Redactor) {
    match value {
        Value::String(text) => {
            if let Some(clean) = redactor.redact(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, redactor)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, redactor)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{ContainerLogs, EnrichFailure};
    use crate::event::Event;
    use serde_json::json;

    #[test]
    fn every_part_is_redacted_and_clean_text_kept() {
        let mut context = EventContext {
            logs: vec![ContainerLogs {
                container: "app".into(),
                previous: true,
                text: "starting\npanic: cannot connect to db with password=hunter2\n".into(),
                truncated: false,
            }],
            related_events: vec![Event {
                message: "env DB_PASSWORD=hunter2 rejected".into(),
                ..Event::default()
            }],
            spec: Some(json!({"spec": {"containers": [{"name": "token-refresher",
                "args": ["--db-url", "postgres://app:hunter2@db/x"]}]}})),
            failures: vec![EnrichFailure {
                part: "spec".into(),
                error: "cannot get https://u:hunter2@api/x".into(),
            }],
        };
        context.redact(&Redactor::default());
        let all = serde_json::to_string(&context).unwrap();
        assert!(!all.contains("hunter2"), "{all}");
        assert!(
            all.contains("token-refresher") && all.contains("starting\\n"),
            "{all}"
        );
    }
}
