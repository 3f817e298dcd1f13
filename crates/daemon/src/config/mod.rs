//! The config file, in three stages: [`RawConfig`] (serde, unknown fields refused) is
//! read from YAML with `KEV_…` environment overrides; [`RawConfig::validate`] checks it
//! without IO, names the path of every bad field, and gives a [`ValidatedConfig`] that
//! holds what it compiled (filters, normalizer, addresses, the store backend); only that
//! is built into a run ([`crate::assemble`]).
//!
//! The `///` comments on these structs are the reference; `docs/config.md` follows them.

mod env;
mod sections;
mod validate;

use std::path::Path;

use kev_core::config::ConfigError;

pub use crate::backends::source::SourceConfig;
pub use crate::error::ConfigErrors;
pub use sections::*;
pub use validate::{ValidatedConfig, ValidatedRoute};

impl RawConfig {
    /// Reads `path` (YAML), applies `KEV_…` overrides from `vars`, and deserializes.
    pub fn load(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            origin: origin.clone(),
            errors: vec![ConfigError::new("", format!("cannot read: {e}"))],
        })?;
        Self::parse(&text, &origin, vars)
    }

    /// The defaults with `KEV_…` overrides, for runs without a config file.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        Self::parse("{}", "(defaults)", vars)
    }

    pub fn parse(
        text: &str,
        origin: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        let fail = |path: String, message: String| ConfigErrors {
            origin: origin.to_owned(),
            errors: vec![ConfigError::new(path, message)],
        };
        let mut value: serde_norway::Value = if text.trim().is_empty() {
            serde_norway::Value::Mapping(Default::default())
        } else {
            serde_norway::from_str(text).map_err(|e| fail(String::new(), e.to_string()))?
        };
        if value.is_null() {
            value = serde_norway::Value::Mapping(Default::default());
        }
        env::apply_overrides(&mut value, vars).map_err(|e| ConfigErrors {
            origin: origin.to_owned(),
            errors: vec![e],
        })?;
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            fail(path, e.into_inner().to_string())
        })
    }
}
