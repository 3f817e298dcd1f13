//! [`default_message`]: kev's Block Kit layout of an event — a header with the reason
//! and the object, the message, the namespace, object, count and cluster as fields, a
//! button to the object's page in kev's UI — within Slack's limits on each part.

use kev_core::{Event, EventType};
use reqwest::Url;
use serde_json::{Value, json};

use crate::chat::{cut, object_title as object};

/// Slack's limits: a header's text, a section's text, a field's text.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;

/// The message for `event`: `text` (the notification and the fallback) and `blocks`.
///
/// ```
/// let event = kev_core::Event {
///     r#type: kev_core::EventType::Warning, reason: "BackOff".into(), namespace: "web".into(),
///     message: "Back-off restarting <api>".into(), count: 3,
///     regarding: kev_core::ObjectRef { kind: "Pod".into(), name: "api-0".into(), ..Default::default() },
///     ..Default::default()
/// };
/// let m = kev_sinks::slack::default_message(&event, None);
/// assert_eq!(m["text"], "Warning BackOff on Pod web/api-0: Back-off restarting <api>");
/// assert_eq!(m["blocks"][0]["text"]["text"], ":warning: BackOff: Pod web/api-0");
/// assert_eq!(m["blocks"][1]["text"]["text"], "Back-off restarting &lt;api&gt;");
/// ```
pub fn default_message(event: &Event, ui: Option<&Url>) -> Value {
    let object = object(event);
    let icon = match event.r#type {
        EventType::Warning => ":warning:",
        _ => ":information_source:",
    };
    let mut fields = Vec::new();
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            let text = format!("*{name}*\n{}", escape(value));
            fields.push(json!({"type": "mrkdwn", "text": cut(&text, FIELD_CHARS)}));
        }
    };
    field("Namespace", &event.namespace);
    field("Object", &event.regarding.kind_name());
    field("Count", &event.count.to_string());
    field("Cluster", &event.cluster);
    let message = if event.message.is_empty() {
        "(no message)".to_owned()
    } else {
        escape(&event.message)
    };
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": cut(&format!("{icon} {}: {object}", event.reason), HEADER_CHARS),
                "emoji": true,
            },
        }),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&message, SECTION_CHARS)}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(ui) = ui {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in kev"},
                "url": crate::ui_link::object_page(ui, event).as_str(),
            }],
        }));
    }
    json!({
        "text": cut(
            &format!("{} {} on {object}: {}", event.r#type.as_str(), event.reason, event.message),
            SECTION_CHARS,
        ),
        "blocks": blocks,
    })
}

/// The three characters Slack's mrkdwn reads as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
