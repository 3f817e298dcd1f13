//! [`JsonTemplate`]: a message body written as a template (`template:` of the chat
//! sinks) that must render a JSON object: Slack's Block Kit, Teams' Adaptive Card.

use kev_core::config::ConfigError;
use kev_core::enrich::EventContext;
use kev_core::{Event, SinkError};
use serde_json::Value;

use crate::template::Template;

#[derive(Debug, Clone)]
pub(crate) struct JsonTemplate {
    template: Template,
    field: &'static str,
}

impl JsonTemplate {
    /// Compiles `source`; a template that does not render a JSON object for a sample
    /// event is refused now, with `field` in the error.
    pub fn compile(field: &'static str, source: &str) -> Result<Self, ConfigError> {
        let template = Self {
            template: Template::compile(field, source)?,
            field,
        };
        template
            .render(&kev_core::Event::default(), None)
            .map_err(|e| ConfigError::new(field, e.message))?;
        Ok(template)
    }

    /// The body for `event`; text that is not a JSON object is a permanent failure.
    pub fn render(
        &self,
        event: &Event,
        context: Option<&EventContext>,
    ) -> Result<Value, SinkError> {
        let text = self.template.render(event, context)?;
        match serde_json::from_str::<Value>(&text) {
            Ok(body @ Value::Object(_)) => Ok(body),
            Ok(_) => Err(SinkError::permanent(format!(
                "{}: renders JSON that is not an object",
                self.field
            ))),
            Err(e) => Err(SinkError::permanent(format!(
                "{}: does not render JSON ({e}); use the `tojson` filter for strings",
                self.field
            ))),
        }
    }
}
