//! [`Secret`] and [`SecretSource`]: tokens and passwords of HTTP sinks, read from a
//! file or the environment (never from the config file), never printed.

use std::path::{Path, PathBuf};

use kev_core::SinkError;
use kev_core::config::ConfigError;

/// A secret value; its `Debug` hides it.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    /// A secret the caller read itself (a Kubernetes Secret through the API, say).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_owned())
    }

    /// The value, for the header that sends it; never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret comes from. A file is read again for every batch, so a rotated
/// Kubernetes Secret mount takes effect without a restart; an environment variable is
/// read once, at build.
#[derive(Debug, Clone)]
pub enum SecretSource {
    File(PathBuf),
    Value(Secret),
}

impl SecretSource {
    /// Reads the file now, so that a wrong path fails at start; `field` names it.
    pub fn from_file(path: &Path, field: &str) -> Result<Self, ConfigError> {
        read_file(path).map_err(|e| ConfigError::new(field, e))?;
        Ok(Self::File(path.to_owned()))
    }

    /// Reads the variable `var` now; `field` names it.
    pub fn from_env(var: &str, field: &str) -> Result<Self, ConfigError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self::Value(Secret::new(v))),
            Ok(_) => Err(ConfigError::new(
                field,
                format!("environment variable {var} is empty"),
            )),
            Err(std::env::VarError::NotPresent) => Err(ConfigError::new(
                field,
                format!("environment variable {var} is not set"),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::new(
                field,
                format!("environment variable {var} is not valid UTF-8"),
            )),
        }
    }

    /// The secret in `file`, else in the variable `env`; `None` when neither is set.
    /// `fields` names the two settings in errors.
    pub fn from_file_or_env(
        file: Option<&Path>,
        env: Option<&str>,
        fields: [&str; 2],
    ) -> Result<Option<Self>, ConfigError> {
        match (file, env) {
            (Some(path), _) => Self::from_file(path, fields[0]).map(Some),
            (None, Some(var)) => Self::from_env(var, fields[1]).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The current value; a file that cannot be read now is a retryable failure.
    pub fn load(&self) -> Result<Secret, SinkError> {
        match self {
            Self::Value(secret) => Ok(secret.clone()),
            Self::File(path) => read_file(path).map_err(SinkError::retryable),
        }
    }
}

fn read_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret(value.to_owned()))
}

/// The bearer-token fields every HTTP sink shares: no token in clear (`token`), at most
/// one of `token_file`, `token_env` (and `basic_auth`, where the sink has it, `Some`),
/// and `token_env` a variable name.
pub fn validate_token_fields(
    token_in_clear: bool,
    token_file: bool,
    token_env: Option<&str>,
    basic_auth: Option<bool>,
) -> Result<(), ConfigError> {
    if token_in_clear {
        return Err(ConfigError::new(
            "token",
            "a token is not accepted in clear in the config: use token_file or token_env",
        ));
    }
    let set = [token_file, token_env.is_some(), basic_auth == Some(true)];
    if set.iter().filter(|s| **s).count() > 1 {
        let fields = match basic_auth {
            Some(_) => "token_file, token_env and basic_auth",
            None => "token_file and token_env",
        };
        return Err(ConfigError::new(
            "token_file",
            format!("set only one of {fields}"),
        ));
    }
    match token_env {
        Some(var) => validate_env_name(var, "token_env"),
        None => Ok(()),
    }
}

/// Checks that `var` can name an environment variable; `field` names the setting.
pub fn validate_env_name(var: &str, field: &str) -> Result<(), ConfigError> {
    let ok = !var.is_empty()
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("{var:?} is not an environment variable name"),
        ))
    }
}
