//! [`object_title`] and [`cut`]: the words of a message for people, the same in every
//! chat sink.

use kev_core::Event;

/// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
pub(crate) fn object_title(event: &Event) -> String {
    let r = &event.regarding;
    let namespace = if r.namespace.is_empty() {
        &event.namespace
    } else {
        &r.namespace
    };
    if namespace.is_empty() {
        format!("{} {}", r.kind, r.name)
    } else {
        format!("{} {namespace}/{}", r.kind, r.name)
    }
}

/// `text` cut to `max` characters, the cut marked with `…`.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
