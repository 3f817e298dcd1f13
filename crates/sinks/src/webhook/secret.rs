//! Credentials of the webhook sink, read from a file or the environment, never printed.

use std::path::PathBuf;

use kev_core::SinkError;
use kev_core::config::ConfigError;

/// A secret value; its `Debug` hides it.
#[derive(Clone, PartialEq)]
pub(super) struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value.trim().to_owned())
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
pub(super) enum SecretSource {
    File(PathBuf),
    Env(Secret),
}

impl SecretSource {
    /// Reads the file now (so a wrong path fails at start) or the variable.
    pub fn from_file(path: &std::path::Path, field: &str) -> Result<Self, ConfigError> {
        read_file(path).map_err(|e| ConfigError::new(field, e))?;
        Ok(Self::File(path.to_owned()))
    }

    pub fn from_env(var: &str, field: &str) -> Result<Self, ConfigError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self::Env(Secret(v.trim().to_owned()))),
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

    /// The current value; a file that cannot be read now is a retryable failure.
    fn load(&self) -> Result<Secret, SinkError> {
        match self {
            Self::Env(secret) => Ok(secret.clone()),
            Self::File(path) => read_file(path).map_err(SinkError::retryable),
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret(value.to_owned()))
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub(super) enum Auth {
    None,
    Bearer(SecretSource),
    Basic {
        username: String,
        password: SecretSource,
    },
}

/// Credentials loaded for one batch.
#[derive(Debug)]
pub(super) enum LoadedAuth {
    None,
    Bearer(Secret),
    Basic { username: String, password: Secret },
}

impl Auth {
    pub fn load(&self) -> Result<LoadedAuth, SinkError> {
        Ok(match self {
            Self::None => LoadedAuth::None,
            Self::Bearer(token) => LoadedAuth::Bearer(token.load()?),
            Self::Basic { username, password } => LoadedAuth::Basic {
                username: username.clone(),
                password: password.load()?,
            },
        })
    }
}

impl LoadedAuth {
    /// `text` with every form of the credentials this request sent replaced, so that
    /// a receiver echoing the request back in an error never puts them in a log or a
    /// dead letter.
    pub fn redact(&self, text: &str) -> String {
        let mut forms = Vec::new();
        match self {
            Self::None => {}
            Self::Bearer(token) => forms.push(token.0.clone()),
            Self::Basic { username, password } => {
                forms.push(base64(format!("{username}:{}", password.0).as_bytes()));
                forms.push(password.0.clone());
            }
        }
        let mut text = text.to_owned();
        for form in forms.iter().filter(|f| !f.is_empty()) {
            text = text.replace(form.as_str(), "<redacted>");
        }
        text
    }

    /// Adds the `Authorization` header (marked sensitive, so reqwest never prints it).
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::None => request,
            Self::Bearer(token) => request.bearer_auth(&token.0),
            Self::Basic { username, password } => request.basic_auth(username, Some(&password.0)),
        }
    }
}

/// Standard base64 with padding, as HTTP basic auth encodes `user:password`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
