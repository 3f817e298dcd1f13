//! [`object_page`]: the link to an event's object in kev's UI (`ui_url` of the sinks
//! that send messages to people), built in one place so the pages' paths live here.

use kev_core::Event;
use reqwest::Url;

/// Stands for the namespace of a cluster-scoped object in the page's path.
const NO_NAMESPACE: &str = "_";

/// `UI/objects/KIND/NAMESPACE/NAME` for the event's regarding object, each part
/// percent-encoded; a path `ui` already has is kept in front.
///
/// ```
/// let ui = reqwest::Url::parse("https://kev.example.com/").unwrap();
/// let event = kev_core::Event {
///     namespace: "web".into(),
///     regarding: kev_core::ObjectRef { kind: "Pod".into(), name: "api 1".into(), ..Default::default() },
///     ..Default::default()
/// };
/// assert_eq!(kev_sinks::ui_link::object_page(&ui, &event).as_str(), "https://kev.example.com/objects/Pod/web/api%201");
/// ```
pub fn object_page(ui: &Url, event: &Event) -> Url {
    let mut url = ui.clone();
    let namespace = match event.regarding.namespace.as_str() {
        "" if event.namespace.is_empty() => NO_NAMESPACE,
        "" => &event.namespace,
        ns => ns,
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend([
            "objects",
            &event.regarding.kind,
            namespace,
            &event.regarding.name,
        ]);
    }
    url
}
