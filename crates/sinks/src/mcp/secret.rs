//! The bearer token of the MCP sink, read from a file or the environment, never printed.

use std::path::{Path, PathBuf};

use kev_core::SinkError;
use kev_core::config::ConfigError;

/// A token; its `Debug` hides it.
#[derive(Clone, PartialEq)]
pub(super) struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where the token comes from: a file is read again per call (a rotated Secret mount
/// takes effect without a restart), a variable once at build.
#[derive(Debug, Clone)]
pub(super) enum TokenSource {
    None,
    File(PathBuf),
    Env(Token),
}

impl TokenSource {
    pub fn new(file: Option<&Path>, env: Option<&str>) -> Result<Self, ConfigError> {
        if let Some(path) = file {
            read_file(path).map_err(|e| ConfigError::new("token_file", e))?;
            return Ok(Self::File(path.to_owned()));
        }
        let Some(var) = env else {
            return Ok(Self::None);
        };
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self::Env(Token(v.trim().to_owned()))),
            Ok(_) => Err(ConfigError::new(
                "token_env",
                format!("environment variable {var} is empty"),
            )),
            Err(_) => Err(ConfigError::new(
                "token_env",
                format!("environment variable {var} is not set (or not UTF-8)"),
            )),
        }
    }

    /// The current token; a file that cannot be read now is a retryable failure.
    pub fn load(&self) -> Result<Option<Token>, SinkError> {
        match self {
            Self::None => Ok(None),
            Self::Env(t) => Ok(Some(t.clone())),
            Self::File(path) => read_file(path).map(Some).map_err(SinkError::retryable),
        }
    }
}

fn read_file(path: &Path) -> Result<Token, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Token(value.to_owned()))
}
