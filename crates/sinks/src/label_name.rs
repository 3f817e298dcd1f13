//! [`is_label_name`]: the Prometheus label-name rule, which Loki's stream labels and
//! Alertmanager's alert labels and annotations share.

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for internal use).
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::is_label_name;

    #[test]
    fn prometheus_label_names() {
        for ok in ["job", "_x", "team_1"] {
            assert!(is_label_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "__name", "k8s.cluster"] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
