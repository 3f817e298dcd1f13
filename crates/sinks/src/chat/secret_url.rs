//! [`SecretUrl`]: a hook URL that carries its own credential (Slack's incoming
//! webhooks, Teams' Workflows URLs have the token in the path or the query), so it is
//! read from a file or the environment like a token, and never logged.

use std::path::Path;

use kev_core::SinkError;
use kev_core::config::ConfigError;
use reqwest::Url;

use crate::http::{Secret, SecretSource, parse_url};

/// Where the hook URL comes from; a file is read again per batch (a rotated Secret
/// takes effect without a restart).
#[derive(Debug, Clone)]
pub(crate) struct SecretUrl {
    source: SecretSource,
    /// The config field, for errors.
    field: &'static str,
}

impl SecretUrl {
    /// Reads `file` or `env` now, so a wrong path or a bad URL fails at start; `fields`
    /// names the two settings.
    pub fn new(
        file: Option<&Path>,
        env: Option<&str>,
        fields: [&'static str; 2],
    ) -> Result<Option<Self>, ConfigError> {
        let Some(source) = SecretSource::from_file_or_env(file, env, fields)? else {
            return Ok(None);
        };
        let field = if file.is_some() { fields[0] } else { fields[1] };
        let url = Self { source, field };
        let secret = url
            .source
            .load()
            .map_err(|e| ConfigError::new(field, e.message))?;
        check(&secret, field).map_err(|e| ConfigError::new(field, e))?;
        Ok(Some(url))
    }

    /// The URL now; one that no longer parses is a permanent failure (the message does
    /// not repeat it).
    pub fn load(&self) -> Result<Url, SinkError> {
        let secret = self.source.load()?;
        check(&secret, self.field).map_err(SinkError::permanent)
    }
}

/// The secret as an http(s) URL; the error never contains the value.
fn check(secret: &Secret, field: &str) -> Result<Url, String> {
    parse_url(field, secret.expose(), "a URL without user or password")
        .map_err(|e| format!("the URL in {field} is not valid: {}", e.message))
}
