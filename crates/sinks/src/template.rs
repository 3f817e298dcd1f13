//! [`Template`]: the one template engine (minijinja, Jinja2 syntax) for every payload a
//! sink renders — a webhook body, an OTLP log body, a Loki line. The data is the event
//! as `event` (its JSON form: `event.reason`, `event.regarding.kind`,
//! `event.labels["app"]`) and, for a route with an enricher, what it gathered as
//! `context` (`context.logs`, `context.relatedEvents`, `context.spec`,
//! `context.failures`).
//!
//! A template is compiled when the config is validated, so `kev check-config` reports a
//! syntax error, an unknown filter or a name other than `event` / `context` with the
//! field's path. At delivery a missing value (a label the event does not have, the
//! context of a route without an enricher) renders as nothing rather than failing.
//!
//! ```
//! use kev_core::{Event, EventType};
//! use kev_sinks::template::Template;
//! let t = Template::compile("template", "{{ event.type }} {{ event.reason }}: {{ event.message | upper }}{{ event.labels.app }}").unwrap();
//! let e = Event { r#type: EventType::Warning, reason: "BackOff".into(), message: "restarting".into(), ..Default::default() };
//! assert_eq!(t.render(&e, None).unwrap(), "Warning BackOff: RESTARTING");
//! let err = Template::compile("routes[0].sinks[0].template", "{{ event.reason | nope }}").unwrap_err();
//! assert!(err.to_string().starts_with("routes[0].sinks[0].template: "), "{err}");
//! let err = Template::compile("template", "{{ reason }}").unwrap_err();
//! assert!(err.to_string().contains("unknown name `reason`"), "{err}");
//! ```

use std::sync::Arc;

use kev_core::config::ConfigError;
use kev_core::enrich::EventContext;
use kev_core::{Event, SinkError};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The names a template may read.
const NAMES: [&str; 2] = ["event", "context"];
/// The template's name inside its environment.
const NAME: &str = "payload";

/// A compiled template, cheap to clone (shared).
#[derive(Clone)]
pub struct Template {
    env: Arc<Environment<'static>>,
    /// The config field it came from, for errors at delivery.
    field: Arc<str>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Data<'a> {
    event: &'a Event,
    context: Option<&'a EventContext>,
}

impl Template {
    /// Compiles `source`; errors name `field` (the config field the template is in) and
    /// say where in the template the error is.
    pub fn compile(field: &str, source: &str) -> Result<Self, ConfigError> {
        let mut env = Environment::new();
        // A missing label or context renders as nothing, also inside `a.b.c`.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| ConfigError::new(field, describe(&e)))?;
        let compiled = env
            .get_template(NAME)
            .map_err(|e| ConfigError::new(field, describe(&e)))?;
        let mut unknown: Vec<String> = compiled
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !NAMES.contains(&name.as_str()))
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(ConfigError::new(
                field,
                format!("unknown name `{name}`: a template reads `event` and `context`"),
            ));
        }
        let template = Self {
            env: Arc::new(env),
            field: field.into(),
        };
        // Unknown filters and tests are only found when they run: render once now.
        template
            .render_raw(&sample_event(), Some(&EventContext::default()))
            .map_err(|e| ConfigError::new(field, describe(&e)))?;
        Ok(template)
    }

    /// The payload for `event` (and its `context`). A failure (a filter given a value
    /// it cannot take) is permanent: the same event fails the same way every time.
    pub fn render(
        &self,
        event: &Event,
        context: Option<&EventContext>,
    ) -> Result<String, SinkError> {
        self.render_raw(event, context)
            .map_err(|e| SinkError::permanent(format!("{}: {}", self.field, describe(&e))))
    }

    fn render_raw(
        &self,
        event: &Event,
        context: Option<&EventContext>,
    ) -> Result<String, minijinja::Error> {
        self.env
            .get_template(NAME)?
            .render(minijinja::value::Serde(Data { event, context }))
    }
}

/// minijinja's error with its place in the template (`line 1`) and its cause.
fn describe(error: &minijinja::Error) -> String {
    let mut text = error.kind().to_string();
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = error.line() {
        text.push_str(&format!(" (template line {line})"));
    }
    text
}

/// An event with every field set, so that a validation render goes through the
/// template's branches that test for values.
fn sample_event() -> Event {
    Event {
        cluster: "cluster".into(),
        namespace: "default".into(),
        name: "pod.1".into(),
        uid: "uid".into(),
        resource_version: "1".into(),
        r#type: kev_core::EventType::Warning,
        reason: "BackOff".into(),
        message: "message".into(),
        action: "action".into(),
        regarding: kev_core::ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "default".into(),
            name: "pod".into(),
            uid: "pod-uid".into(),
            field_path: String::new(),
        },
        count: 1,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_the_field_and_the_line() {
        let err = Template::compile("routes[1].sinks[0].template", "ok\n{{ event.reason ")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("routes[1].sinks[0].template: syntax error"),
            "{err}"
        );
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn an_unknown_filter_is_an_error_at_compile_time() {
        let err = Template::compile("t", "{{ event.message | shout }}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("shout"), "{err}");
    }

    #[test]
    fn the_event_the_context_and_json_are_there() {
        let t = Template::compile(
            "t",
            "{{ event.regarding.kind }}/{{ event.regarding.name }} {{ event.labels['app.kubernetes.io/name'] }} {{ context.failures | length }} {{ event | tojson }}",
        )
        .unwrap();
        let mut e = sample_event();
        e.labels
            .insert("app.kubernetes.io/name".into(), "api".into());
        let out = t.render(&e, Some(&EventContext::default())).unwrap();
        let (text, json) = out.split_at(out.find('{').unwrap());
        assert_eq!(text, "Pod/pod api 0 ");
        let back: Event = serde_json::from_str(json).unwrap();
        assert_eq!(back, e);
        // Without context, `context.…` renders as nothing.
        let t = Template::compile("t", "[{{ context.spec.kind }}]").unwrap();
        assert_eq!(t.render(&e, None).unwrap(), "[]");
    }

    #[test]
    fn a_failing_render_is_a_permanent_error_naming_the_field() {
        let t = Template::compile(
            "body",
            "{% if event.count > 1 %}{{ event.reason | int }}{% endif %}",
        )
        .unwrap();
        let mut e = sample_event();
        e.count = 2;
        let err = t.render(&e, None).unwrap_err();
        assert!(!err.retryable);
        assert!(err.message.starts_with("body: "), "{}", err.message);
    }
}
