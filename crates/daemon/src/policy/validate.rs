//! [`EventPolicy::validate`]: the checks the schema cannot express (regexes, URLs,
//! fields that only fit some target kinds), each error naming its field path.

use std::fmt;

use super::crd::{EventPolicy, EventPolicySpec, EventSelector, Target, TargetKind};

/// One invalid field of a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Path from the resource root, e.g. `spec.eventSelectors[0].message`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every invalid field of a policy, in spec order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidPolicy {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl EventPolicy {
    /// Checks the spec; every error names the field's path from the resource root.
    ///
    /// ```
    /// use kev_daemon::policy::EventPolicySpec;
    /// let spec: EventPolicySpec = serde_norway::from_str(
    ///     "eventSelectors: [{message: '(unclosed'}]\ntarget: {kind: webhook, endpoint: /rel}\nconfidenceThreshold: 2",
    /// ).unwrap();
    /// let err = kev_daemon::policy::EventPolicy::new("p", spec).validate().unwrap_err();
    /// let paths: Vec<_> = err.errors.iter().map(|e| e.path.as_str()).collect();
    /// assert_eq!(paths, ["spec.eventSelectors[0].message", "spec.target.endpoint", "spec.confidenceThreshold"]);
    /// ```
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        let mut errors = Vec::new();
        validate_spec(&self.spec, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidPolicy { errors })
        }
    }
}

fn push(errors: &mut Vec<FieldError>, path: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        path: path.into(),
        message: message.into(),
    });
}

fn in_range(
    errors: &mut Vec<FieldError>,
    path: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) {
    if !range.contains(&value) {
        push(
            errors,
            path,
            format!("{value} is outside {}..={}", range.start(), range.end()),
        );
    }
}

fn validate_spec(spec: &EventPolicySpec, errors: &mut Vec<FieldError>) {
    if spec.event_selectors.is_empty() {
        push(
            errors,
            "spec.eventSelectors",
            "needs at least one selector (`{}` matches every event)",
        );
    }
    for (i, selector) in spec.event_selectors.iter().enumerate() {
        validate_selector(selector, &format!("spec.eventSelectors[{i}]"), errors);
    }
    let context = &spec.context_gathering;
    in_range(
        errors,
        "spec.contextGathering.logLines",
        context.log_lines,
        1..=10_000,
    );
    in_range(
        errors,
        "spec.contextGathering.lookbackMinutes",
        context.lookback_minutes,
        1..=10_080,
    );
    validate_target(&spec.target, errors);
    if !(0.0..=1.0).contains(&spec.confidence_threshold) {
        push(
            errors,
            "spec.confidenceThreshold",
            format!("{} is outside [0, 1]", spec.confidence_threshold),
        );
    }
    in_range(
        errors,
        "spec.rateLimiting.eventsPerMinute",
        spec.rate_limiting.events_per_minute,
        1..=10_000,
    );
    in_range(
        errors,
        "spec.rateLimiting.cooldownMinutes",
        spec.rate_limiting.cooldown_minutes,
        0..=1_440,
    );
}

fn validate_selector(selector: &EventSelector, at: &str, errors: &mut Vec<FieldError>) {
    for (field, value) in [
        ("reason", &selector.reason),
        ("involvedObjectKind", &selector.involved_object_kind),
        ("namespace", &selector.namespace),
    ] {
        if value.as_deref().is_some_and(str::is_empty) {
            push(
                errors,
                format!("{at}.{field}"),
                "must not be empty (leave it out to match any)",
            );
        }
    }
    if selector.labels.keys().any(String::is_empty) {
        push(errors, format!("{at}.labels"), "a label key is empty");
    }
    if let Some(pattern) = &selector.message
        && let Err(e) = regex::Regex::new(pattern)
    {
        // The regex error spans several lines; its last line says what is wrong.
        let why = e.to_string();
        let why = why.lines().last().unwrap_or_default().trim().to_owned();
        push(
            errors,
            format!("{at}.message"),
            format!("invalid regex {pattern:?}: {why}"),
        );
    }
    if selector.min_occurrences == 0 {
        push(errors, format!("{at}.minOccurrences"), "must be at least 1");
    }
    in_range(
        errors,
        &format!("{at}.occurrenceWindowSeconds"),
        selector.occurrence_window_seconds,
        1..=86_400,
    );
}

fn validate_target(target: &Target, errors: &mut Vec<FieldError>) {
    match url::Url::parse(&target.endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
        Ok(url) => push(
            errors,
            "spec.target.endpoint",
            format!(
                "{:?}: needs an http:// or https:// URL with a host, not {}:",
                target.endpoint,
                url.scheme()
            ),
        ),
        Err(e) => push(
            errors,
            "spec.target.endpoint",
            format!("{:?}: {e}", target.endpoint),
        ),
    }
    match (&target.tool, target.kind) {
        (Some(_), TargetKind::Webhook) => push(
            errors,
            "spec.target.tool",
            "only `mcp` and `mcp-rest` targets call a tool; remove it for `webhook`",
        ),
        (Some(tool), _) if tool.is_empty() => push(
            errors,
            "spec.target.tool",
            "must not be empty (leave it out for `remediate`)",
        ),
        _ => {}
    }
    if let Some(secret) = &target.secret_ref {
        if secret.name.is_empty() {
            push(errors, "spec.target.secretRef.name", "must not be empty");
        }
        if secret.key.is_empty() {
            push(errors, "spec.target.secretRef.key", "must not be empty");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{EventPolicySpec, PolicyMode};

    fn policy(yaml: &str) -> EventPolicy {
        let spec: EventPolicySpec = serde_norway::from_str(yaml).unwrap();
        EventPolicy::new("p", spec)
    }

    fn paths(yaml: &str) -> Vec<String> {
        match policy(yaml).validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.errors.into_iter().map(|e| e.path).collect(),
        }
    }

    const TARGET: &str = "target: {kind: mcp, endpoint: 'http://dot-ai.dot-ai.svc:3456/mcp'}\n";

    #[test]
    fn defaults_fill_a_minimal_policy_and_pass() {
        let p = policy(&format!("eventSelectors: [{{}}]\n{TARGET}"));
        assert!(p.validate().is_ok());
        let s = &p.spec;
        assert!(s.enabled);
        assert_eq!(s.mode, PolicyMode::Manual);
        assert_eq!(s.confidence_threshold, 0.8);
        assert_eq!(s.event_selectors[0].min_occurrences, 1);
        assert_eq!(s.event_selectors[0].occurrence_window_seconds, 300);
        assert_eq!(s.context_gathering.log_lines, 100);
        assert!(s.context_gathering.include_related_events);
        assert_eq!(s.rate_limiting.events_per_minute, 10);
        assert_eq!(s.rate_limiting.cooldown_minutes, 5);
    }

    #[test]
    fn each_bad_field_is_named_by_its_path() {
        let yaml = "eventSelectors:\n\
            - {reason: BackOff}\n\
            - {reason: '', message: 'a(b', minOccurrences: 0, occurrenceWindowSeconds: 0, labels: {'': x}}\n\
            contextGathering: {logLines: 0, lookbackMinutes: 100000}\n\
            target: {kind: webhook, endpoint: 'ftp://x', tool: remediate, secretRef: {name: '', key: ''}}\n\
            confidenceThreshold: -0.1\n\
            rateLimiting: {eventsPerMinute: 0, cooldownMinutes: 5000}\n";
        assert_eq!(
            paths(yaml),
            [
                "spec.eventSelectors[1].reason",
                "spec.eventSelectors[1].labels",
                "spec.eventSelectors[1].message",
                "spec.eventSelectors[1].minOccurrences",
                "spec.eventSelectors[1].occurrenceWindowSeconds",
                "spec.contextGathering.logLines",
                "spec.contextGathering.lookbackMinutes",
                "spec.target.endpoint",
                "spec.target.tool",
                "spec.target.secretRef.name",
                "spec.target.secretRef.key",
                "spec.confidenceThreshold",
                "spec.rateLimiting.eventsPerMinute",
                "spec.rateLimiting.cooldownMinutes",
            ]
        );
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let err = policy("eventSelectors: []\ntarget: {kind: mcp-rest, endpoint: 'dot-ai:3456', tool: ''}\nconfidenceThreshold: 1.5\n")
            .validate()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("spec.eventSelectors: needs at least one selector"),
            "{text}"
        );
        assert!(
            text.contains("spec.target.endpoint: \"dot-ai:3456\""),
            "{text}"
        );
        assert!(
            text.contains("spec.target.tool: must not be empty"),
            "{text}"
        );
        assert!(
            text.contains("spec.confidenceThreshold: 1.5 is outside [0, 1]"),
            "{text}"
        );
    }

    #[test]
    fn unknown_enum_values_are_refused_when_parsing() {
        let e = serde_norway::from_str::<EventPolicySpec>(
            "eventSelectors: [{}]\ntarget: {kind: webhook, endpoint: 'http://h'}\nmaxRiskLevel: extreme\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown variant `extreme`"), "{e}");
    }
}
