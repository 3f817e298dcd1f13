//! [`Encoder`]: events to alerts — labels, annotations rendered from templates, the
//! start, the end (the resolve timeout, or now when a recovery event resolves), and
//! the link to kev's UI.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use kev_core::enrich::EventContext;
use kev_core::{Batch, Event, SinkError};
use reqwest::Url;

use super::alert::{Alert, Alerts};
use super::config::{AlertLabel, severity};
use crate::template::Template;

/// What a resolving alert carries as `severity`: the conditions' failure reasons come
/// from Warning events.
const FAILURE_SEVERITY: &str = "warning";

#[derive(Debug, Clone)]
pub(super) struct Encoder {
    pub labels: Vec<AlertLabel>,
    pub static_labels: Vec<(String, String)>,
    pub annotations: Vec<(String, Template)>,
    pub resolve_timeout: SignedDuration,
    /// Recovery reason → the failure reasons it ends; empty with `resolve_on_recovery`
    /// off.
    pub recovery: HashMap<String, Vec<String>>,
    pub ui: Option<Url>,
}

/// Recovery reason → failure reasons, from the condition table.
pub(super) fn recovery_table() -> HashMap<String, Vec<String>> {
    let mut table: HashMap<String, Vec<String>> = HashMap::new();
    for rule in kev_core::condition::table::built_in() {
        for recovery in &rule.recovery {
            table
                .entry(recovery.clone())
                .or_default()
                .extend(rule.reasons.iter().cloned());
        }
    }
    table
}

impl Encoder {
    /// The alerts for `batch`, one per label set; `now` stands for an event without a
    /// time.
    pub fn alerts(&self, batch: Batch<'_>, now: Timestamp) -> Result<Alerts, SinkError> {
        let mut alerts = Alerts::default();
        for (stored, context) in batch.iter() {
            let event = &stored.event;
            let at = event.time().unwrap_or(now);
            let annotations = self.annotations(event, context)?;
            let generator_url = self
                .ui
                .as_ref()
                .map(|ui| crate::ui_link::object_page(ui, event).to_string());
            match self.recovery.get(&event.reason) {
                Some(failures) => {
                    for failure in failures {
                        alerts.push(Alert {
                            labels: self.label_set(event, failure, FAILURE_SEVERITY),
                            annotations: annotations.clone(),
                            starts_at: None,
                            ends_at: Some(at),
                            generator_url: generator_url.clone(),
                        });
                    }
                }
                None => alerts.push(Alert {
                    labels: self.label_set(event, &event.reason, &severity(&event.r#type)),
                    annotations,
                    starts_at: Some(event.first_seen.unwrap_or(at).min(at)),
                    ends_at: Some(at.saturating_add(self.resolve_timeout).unwrap_or(at)),
                    generator_url,
                }),
            }
        }
        Ok(alerts)
    }

    /// The labels; an empty value (the namespace of a Node) is left out, as
    /// Alertmanager treats it as absent anyway.
    fn label_set(&self, event: &Event, reason: &str, severity: &str) -> BTreeMap<String, String> {
        let fields = self
            .labels
            .iter()
            .map(|l| (l.name(), l.value(event, reason, severity)));
        let fixed = self
            .static_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        fields
            .chain(fixed)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn annotations(
        &self,
        event: &Event,
        context: Option<&EventContext>,
    ) -> Result<BTreeMap<String, String>, SinkError> {
        let mut out = BTreeMap::new();
        for (name, template) in &self.annotations {
            let text = template.render(event, context)?;
            if !text.trim().is_empty() {
                out.insert(name.clone(), text);
            }
        }
        Ok(out)
    }
}
