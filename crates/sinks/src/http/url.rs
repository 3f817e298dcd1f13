//! [`parse_url`]: an endpoint of an HTTP sink, parsed and checked at validation.

use kev_core::config::ConfigError;

/// `value` as an `http://` or `https://` URL without credentials in it (they would end
/// up in logs); `use_instead` says where credentials go for this sink. Errors name
/// `field`.
pub fn parse_url(field: &str, value: &str, use_instead: &str) -> Result<reqwest::Url, ConfigError> {
    let url = reqwest::Url::parse(value).map_err(|e| ConfigError::new(field, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            field,
            format!("scheme must be http or https, not {:?}", url.scheme()),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            field,
            format!("credentials in the URL are not accepted: use {use_instead}"),
        ));
    }
    Ok(url)
}
