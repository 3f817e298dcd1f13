//! Checks the API server applies to events.k8s.io/v1 Events, run before sending so an
//! event that cannot be valid is dropped and counted instead of refused with a 422.

use kev_core::EventType;

use super::new_event::NewEvent;

/// `reason`, `action`, `reportingInstance`: at most this many characters.
pub const MAX_FIELD_CHARS: usize = 128;
/// `note`: at most this many bytes.
pub const MAX_NOTE_BYTES: usize = 1024;

/// True for an UpperCamelCase identifier: an ASCII capital, then ASCII letters and digits.
///
/// ```
/// use kev_recorder::is_upper_camel_case;
/// assert!(is_upper_camel_case("MissingSecret"));
/// assert!(is_upper_camel_case("OOMKilled"));
/// assert!(!is_upper_camel_case("missing secret"));
/// assert!(!is_upper_camel_case("Back-off"));
/// assert!(!is_upper_camel_case(""));
/// ```
pub fn is_upper_camel_case(reason: &str) -> bool {
    let mut bytes = reason.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase()) && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// Why an event is invalid; the field and the rule, for logs.
pub(crate) fn invalid_field(event: &NewEvent) -> Option<&'static str> {
    if !matches!(event.r#type, EventType::Normal | EventType::Warning) {
        return Some("type: must be Normal or Warning");
    }
    for (value, required, too_long) in [
        (
            &event.reason,
            "reason: required",
            "reason: at most 128 characters",
        ),
        (
            &event.action,
            "action: required",
            "action: at most 128 characters",
        ),
    ] {
        if value.is_empty() {
            return Some(required);
        }
        if value.chars().count() > MAX_FIELD_CHARS {
            return Some(too_long);
        }
    }
    if event.regarding.name.is_empty() || event.regarding.kind.is_empty() {
        return Some("regarding: kind and name are required");
    }
    None
}

/// `IsQualifiedName`: an optional DNS subdomain prefix and `/`, then 1 to 63 of
/// alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric. The error says which part.
pub(crate) fn qualified_name_error(value: &str) -> Option<String> {
    let name = match value.split_once('/') {
        Some((prefix, name)) => {
            if let Some(e) = dns1123_subdomain_error(prefix) {
                return Some(format!("prefix part {e}"));
            }
            name
        }
        None => value,
    };
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
        && name.bytes().next().is_some_and(alnum)
        && name.bytes().last().is_some_and(alnum);
    (!ok).then(|| {
        "name part must be 1 to 63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric".to_owned()
    })
}

fn dns1123_subdomain_error(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    (!ok).then(|| "must be a lowercase RFC 1123 subdomain of at most 253 characters".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kev_core::ObjectRef;

    fn event() -> NewEvent {
        let pod = ObjectRef {
            kind: "Pod".into(),
            name: "p".into(),
            ..Default::default()
        };
        NewEvent::warning(&pod, "Failed", "Reconcile", "x")
    }

    #[test]
    fn fields_are_checked_like_the_api_server() {
        assert_eq!(invalid_field(&event()), None);
        let mut e = event();
        e.r#type = EventType::Other("Error".into());
        assert!(invalid_field(&e).unwrap().starts_with("type"));
        let mut e = event();
        e.reason = "R".repeat(129);
        assert_eq!(invalid_field(&e), Some("reason: at most 128 characters"));
        e.reason = "é".repeat(128); // 128 characters, 256 bytes: fine
        assert_eq!(invalid_field(&e), None);
        let mut e = event();
        e.action.clear();
        assert_eq!(invalid_field(&e), Some("action: required"));
        let mut e = event();
        e.regarding.name.clear();
        assert!(invalid_field(&e).is_some());
    }

    #[test]
    fn qualified_names() {
        for ok in ["kev", "example.com/my-controller", "a.b_c-d", "x/y"] {
            assert_eq!(qualified_name_error(ok), None, "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Example.com/x",
            "a/",
            "/a",
            &"a".repeat(64),
            "a b",
        ] {
            assert!(qualified_name_error(bad).is_some(), "{bad}");
        }
    }
}
