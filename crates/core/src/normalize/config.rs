//! [`NormalizeConfig`]: the `normalize:` block of kev's config.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// How the default normalizer treats messages.
///
/// ```
/// let c: kev_core::NormalizeConfig = serde_norway::from_str("max_message_bytes: 1024").unwrap();
/// assert_eq!(c.max_message_bytes, 1024);
/// assert_eq!(c.redact, vec!["default".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Messages longer than this many bytes are cut on a UTF-8 character boundary and
    /// the event is marked `truncated: true`. Default 4096; must be at least 1.
    pub max_message_bytes: usize,
    /// Secrets to replace with `[REDACTED]` in messages (and in the context routes
    /// gather). The entry `default` stands for the built-in detectors (key/value
    /// assignments whose key names a secret, secret words before secret-looking values,
    /// provider tokens by shape: AWS, GitHub, GitLab, Slack, Google, Stripe, npm, Azure,
    /// JWTs, `Authorization` headers, PEM private keys, URL credentials); any other
    /// entry is a regular expression (Rust `regex` syntax). When a regex has capture
    /// groups whose names start with `secret`, only those groups are replaced, otherwise
    /// the whole match is. An empty list turns redaction off. Default `[default]`.
    pub redact: Vec<String>,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 4096,
            redact: vec![DEFAULT_PATTERNS.to_owned()],
        }
    }
}

/// The `redact` entry that stands for the built-in patterns.
pub const DEFAULT_PATTERNS: &str = "default";

impl NormalizeConfig {
    /// Checks the values (compiles the regexes).
    /// Errors name the field (`max_message_bytes`, `redact[2]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        super::DefaultNormalizer::new(self).map(drop)
    }
}
