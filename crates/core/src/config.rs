//! Config helpers shared by every crate's config structs: human durations and the
//! error type that names the YAML path of a bad field.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A config value that is present but wrong, with the path of the field
/// (`routes[2].sinks[0].url`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, one level deeper: `prefix.path`.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        let path = if self.path.is_empty() {
            prefix.to_owned()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        Self { path, ..self }
    }
}

/// Parses `250ms`, `30s`, `5m`, `2h`, `7d`, `1w`, or a bare number of seconds.
///
/// ```
/// use std::time::Duration;
/// use kev_core::config::parse_duration;
/// assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let bad = || {
        format!("invalid duration {text:?}: use a number with a unit, like 250ms, 30s, 5m, 2h, 7d")
    };
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "w" => Duration::from_secs(7 * 86_400),
            _ => return Err(bad()),
        };
        total += unit
            .checked_mul(u32::try_from(n).map_err(|_| bad())?)
            .ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Serde helper: `#[serde(deserialize_with = "kev_core::config::duration")]`.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// Serde helper for `Option<Duration>` fields.
pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "duration")] Duration);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// Checks an optional sink `name`: it becomes the `sink` metric label, so it is kept
/// short and plain. Every sink crate's config calls it, so the rule is the same for all.
///
/// ```
/// use kev_core::config::validate_sink_name;
/// assert!(validate_sink_name(Some("team-hook")).is_ok());
/// assert!(validate_sink_name(None).is_ok());
/// assert_eq!(validate_sink_name(Some("a b")).unwrap_err().path, "name");
/// ```
pub fn validate_sink_name(name: Option<&str>) -> Result<(), ConfigError> {
    let Some(name) = name else { return Ok(()) };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 63 || !name.chars().all(plain) {
        return Err(ConfigError::new(
            "name",
            format!(
                "{name:?} is not a valid sink name: use 1 to 63 letters, digits, '-', '_' or '.'"
            ),
        ));
    }
    Ok(())
}
