//! [`SelectorFilter`]: a [`FilterConfig`] compiled once, implementing [`Filter`].

use super::Filter;
use super::config::FilterConfig;
use super::rule::{Rule, rules_of};
use crate::config::ConfigError;
use crate::event::Event;

/// The selector filter: keeps an event when `match` is empty or one of its rules
/// matches, and no `drop` rule matches. Regexes are compiled once, by
/// [`compile`](Self::compile).
///
/// ```
/// use kev_core::{Event, Filter, FilterConfig, RuleConfig, SelectorFilter};
/// let config = FilterConfig {
///     r#match: vec![RuleConfig { reason_regex: Some("^Failed".into()), ..Default::default() }],
///     drop: vec![],
/// };
/// let filter = SelectorFilter::compile(&config).unwrap();
/// assert!(filter.keep(&Event { reason: "FailedMount".into(), ..Default::default() }));
/// assert!(!filter.keep(&Event { reason: "Pulled".into(), ..Default::default() }));
///
/// let bad = FilterConfig {
///     r#match: vec![RuleConfig { message: Some("(unclosed".into()), ..Default::default() }],
///     drop: vec![],
/// };
/// assert_eq!(SelectorFilter::compile(&bad).unwrap_err().path, "match[0].message");
/// ```
#[derive(Debug, Clone, Default)]
pub struct SelectorFilter {
    matches: Vec<Rule>,
    drops: Vec<Rule>,
}

impl SelectorFilter {
    /// Compiles every rule; the error names the bad rule's path, like
    /// `match[2].message` or `drop[0].any[1].reason_regex`.
    pub fn compile(config: &FilterConfig) -> Result<Self, ConfigError> {
        let list = |field: &str, rules: &[_]| {
            if rules.is_empty() {
                Ok(Vec::new())
            } else {
                rules_of(field, rules)
            }
        };
        Ok(Self {
            matches: list("match", &config.r#match)?,
            drops: list("drop", &config.drop)?,
        })
    }
}

impl FilterConfig {
    /// Checks every rule without keeping the compiled filter (for `kev check-config`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        SelectorFilter::compile(self).map(drop)
    }
}

impl Filter for SelectorFilter {
    fn keep(&self, event: &Event) -> bool {
        (self.matches.is_empty() || self.matches.iter().any(|r| r.matches(event)))
            && !self.drops.iter().any(|r| r.matches(event))
    }
}
