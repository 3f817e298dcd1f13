//! [`extra_headers`]: a sink's `headers:` map checked and turned into request headers,
//! refusing credentials in clear and the headers the sink sets itself.

use std::collections::BTreeMap;

use kev_core::config::ConfigError;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// The `headers` field as a [`HeaderMap`] (values marked sensitive); `reserved` are the
/// headers the sink sets itself, `auth_hint` names the fields credentials come from.
///
/// ```
/// use std::collections::BTreeMap;
/// use kev_sinks::http::extra_headers;
/// let headers = BTreeMap::from([("X-Team".to_owned(), "sre".to_owned())]);
/// assert_eq!(extra_headers(&headers, &[], "token_file")?["x-team"], "sre");
/// let bad = BTreeMap::from([("Authorization".to_owned(), "Bearer x".to_owned())]);
/// assert_eq!(extra_headers(&bad, &[], "token_file").unwrap_err().path, "headers.Authorization");
/// # Ok::<(), kev_core::config::ConfigError>(())
/// ```
pub fn extra_headers(
    headers: &BTreeMap<String, String>,
    reserved: &[HeaderName],
    auth_hint: &str,
) -> Result<HeaderMap, ConfigError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let path = format!("headers.{name}");
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::new(&path, "not a valid header name"))?;
        if header == AUTHORIZATION {
            return Err(ConfigError::new(
                path,
                format!("credentials are not accepted in clear in the config: use {auth_hint}"),
            ));
        }
        if reserved.contains(&header) {
            return Err(ConfigError::new(path, "kev sets this header itself"));
        }
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| ConfigError::new(&path, "not a valid header value"))?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}
