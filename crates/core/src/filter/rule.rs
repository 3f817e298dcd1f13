//! [`Rule`]: a [`RuleConfig`] compiled once into checks that run cheapest first.

use regex::Regex;

use super::config::{OneOrMany, RuleConfig};
use crate::config::ConfigError;
use crate::event::Event;

/// A compiled rule: matches when every check holds. Never empty.
#[derive(Debug, Clone)]
pub struct Rule {
    checks: Vec<Check>,
}

#[derive(Debug, Clone)]
enum Check {
    MinCount(u32),
    /// Values compared ignoring ASCII case.
    Type(Vec<String>),
    Namespace(Vec<String>),
    /// Values compared ignoring ASCII case.
    Kind(Vec<String>),
    Reason(Vec<String>),
    ReportingController(Vec<String>),
    Labels(Vec<(String, String)>),
    Name(Regex),
    ReasonRegex(Regex),
    Message(Regex),
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
}

impl Rule {
    /// Compiles `config`; an error's path is relative to the rule (`message`,
    /// `any[1].reason_regex`, or empty for the rule itself).
    pub fn compile(config: &RuleConfig) -> Result<Self, ConfigError> {
        let RuleConfig {
            r#type,
            reason,
            reason_regex,
            kind,
            namespace,
            name,
            labels,
            message,
            min_count,
            reporting_controller,
            all,
            any,
            not,
        } = config;
        // Cheap comparisons first, regexes and nested rules last: most events are
        // decided before the expensive checks run.
        let mut checks = Vec::new();
        if let Some(n) = min_count {
            checks.push(Check::MinCount(*n));
        }
        if let Some(v) = r#type {
            checks.push(Check::Type(list("type", v)?));
        }
        if let Some(v) = namespace {
            checks.push(Check::Namespace(list("namespace", v)?));
        }
        if let Some(v) = kind {
            checks.push(Check::Kind(list("kind", v)?));
        }
        if let Some(v) = reason {
            checks.push(Check::Reason(list("reason", v)?));
        }
        if let Some(v) = reporting_controller {
            checks.push(Check::ReportingController(list("reporting_controller", v)?));
        }
        if let Some(labels) = labels {
            if labels.is_empty() {
                return Err(ConfigError::new(
                    "labels",
                    "empty map: give at least one label, or leave labels out",
                ));
            }
            checks.push(Check::Labels(
                labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ));
        }
        if let Some(re) = name {
            checks.push(Check::Name(regex("name", re)?));
        }
        if let Some(re) = reason_regex {
            checks.push(Check::ReasonRegex(regex("reason_regex", re)?));
        }
        if let Some(re) = message {
            checks.push(Check::Message(regex("message", re)?));
        }
        if let Some(rules) = all {
            checks.push(Check::All(rules_of("all", rules)?));
        }
        if let Some(rules) = any {
            checks.push(Check::Any(rules_of("any", rules)?));
        }
        if let Some(rule) = not {
            checks.push(Check::Not(Box::new(
                Self::compile(rule).map_err(|e| e.within("not"))?,
            )));
        }
        if checks.is_empty() {
            return Err(ConfigError::new(
                "",
                "empty rule: set at least one of type, reason, reason_regex, kind, namespace, \
                 name, labels, message, min_count, reporting_controller, all, any, not",
            ));
        }
        Ok(Self { checks })
    }

    /// Whether `event` passes every check.
    pub fn matches(&self, event: &Event) -> bool {
        self.checks.iter().all(|c| c.holds(event))
    }
}

impl Check {
    fn holds(&self, event: &Event) -> bool {
        match self {
            Self::MinCount(n) => event.count >= *n,
            Self::Type(values) => any_ignore_case(values, event.r#type.as_str()),
            Self::Namespace(values) => values.contains(&event.namespace),
            Self::Kind(values) => any_ignore_case(values, &event.regarding.kind),
            Self::Reason(values) => values.contains(&event.reason),
            Self::ReportingController(values) => values.contains(&event.reporting_controller),
            Self::Labels(labels) => labels
                .iter()
                .all(|(k, v)| event.labels.get(k).is_some_and(|have| have == v)),
            Self::Name(re) => re.is_match(&event.regarding.name),
            Self::ReasonRegex(re) => re.is_match(&event.reason),
            Self::Message(re) => re.is_match(&event.message),
            Self::All(rules) => rules.iter().all(|r| r.matches(event)),
            Self::Any(rules) => rules.iter().any(|r| r.matches(event)),
            Self::Not(rule) => !rule.matches(event),
        }
    }
}

fn any_ignore_case(values: &[String], have: &str) -> bool {
    values.iter().any(|v| v.eq_ignore_ascii_case(have))
}

fn list(field: &str, values: &OneOrMany) -> Result<Vec<String>, ConfigError> {
    if values.values().is_empty() {
        return Err(ConfigError::new(
            field,
            format!("empty list: give at least one value, or leave {field} out"),
        ));
    }
    Ok(values.values().to_vec())
}

fn regex(field: &str, pattern: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::new(field, format!("invalid regex: {e}")))
}

/// Compiles the rules of `all` / `any`; errors get `field[i]` in front.
pub fn rules_of(field: &str, rules: &[RuleConfig]) -> Result<Vec<Rule>, ConfigError> {
    if rules.is_empty() {
        return Err(ConfigError::new(
            field,
            format!("empty list: give at least one rule, or leave {field} out"),
        ));
    }
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| Rule::compile(r).map_err(|e| e.within(&format!("{field}[{i}]"))))
        .collect()
}
