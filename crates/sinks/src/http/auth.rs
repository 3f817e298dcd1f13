//! [`Auth`]: how an HTTP sink's requests authenticate (a bearer token or basic auth),
//! loaded per batch into [`LoadedAuth`], which sets the header and redacts the
//! credentials from whatever a receiver echoes back.

use std::path::Path;

use kev_core::SinkError;
use kev_core::config::ConfigError;

use super::secret::{Secret, SecretSource};

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(SecretSource),
    Basic {
        username: String,
        password: SecretSource,
    },
}

/// Credentials loaded for one batch.
#[derive(Debug)]
pub enum LoadedAuth {
    None,
    Bearer(Secret),
    Basic { username: String, password: Secret },
}

impl Auth {
    /// A bearer token: `given` (one the caller read, from a Kubernetes Secret through
    /// the API, say), else the one in `token_file` or `token_env`; none when no source
    /// is set.
    pub fn bearer(
        given: Option<&Secret>,
        token_file: Option<&Path>,
        token_env: Option<&str>,
    ) -> Result<Self, ConfigError> {
        if let Some(token) = given {
            return Ok(Self::Bearer(SecretSource::Value(token.clone())));
        }
        let source =
            SecretSource::from_file_or_env(token_file, token_env, ["token_file", "token_env"])?;
        Ok(source.map_or(Self::None, Self::Bearer))
    }

    /// The credentials of one batch (a file is read again each time).
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
    /// The bearer token, for clients that set the header themselves (rmcp's).
    pub fn bearer(&self) -> Option<&str> {
        match self {
            Self::Bearer(token) => Some(token.expose()),
            Self::None | Self::Basic { .. } => None,
        }
    }

    /// `text` with every form of the credentials this request sent replaced, so that
    /// a receiver echoing the request back in an error never puts them in a log or a
    /// dead letter.
    pub fn redact(&self, text: &str) -> String {
        let mut forms = Vec::new();
        match self {
            Self::None => {}
            Self::Bearer(token) => forms.push(token.expose().to_owned()),
            Self::Basic { username, password } => {
                forms.push(base64(
                    format!("{username}:{}", password.expose()).as_bytes(),
                ));
                forms.push(password.expose().to_owned());
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
            Self::Bearer(token) => request.bearer_auth(token.expose()),
            Self::Basic { username, password } => {
                request.basic_auth(username, Some(&password.expose()))
            }
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
