//! Which HTTP failures are worth retrying, and for how long the receiver asked to wait.

use std::time::{Duration, SystemTime};

use kev_core::SinkError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How much of an error answer's body goes into the error.
pub const ERROR_BODY_CHARS: usize = 256;

/// The longest `Retry-After` honoured; a receiver asking for more gets asked again then.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The error for a non-2xx answer: 408, 429 and 5xx are retryable (with the
/// receiver's `Retry-After` when it sent one), every other status is permanent.
///
/// ```
/// use reqwest::StatusCode;
/// use kev_sinks::http::classify_status;
/// assert!(classify_status(StatusCode::SERVICE_UNAVAILABLE, None, "").retryable);
/// assert!(classify_status(StatusCode::TOO_MANY_REQUESTS, Some("2"), "").retry_after.is_some());
/// assert!(!classify_status(StatusCode::BAD_REQUEST, None, "bad field").retryable);
/// ```
pub fn classify_status(status: StatusCode, retry_after: Option<&str>, body: &str) -> SinkError {
    let message = if body.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {body}")
    };
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if !retryable {
        let hint = if status.is_redirection() {
            " (redirects are not followed: configure the final URL)"
        } else {
            ""
        };
        return SinkError::permanent(format!("{message}{hint}"));
    }
    let error = SinkError::retryable(message);
    match retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())) {
        Some(after) => error.with_retry_after(after),
        None => error,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, relative to `now`; capped at one
/// hour; `None` when the value is neither.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use kev_sinks::http::parse_retry_after;
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(7)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// The error for a request that got no answer: all retryable (connect refused, reset,
/// timeout), except a request kev could not even build.
pub fn classify_transport(error: reqwest::Error, timeout: Duration) -> SinkError {
    // The URL may carry a secret (many hooks put their token in the path): not logged.
    let error = error.without_url();
    if error.is_builder() {
        return SinkError::permanent(format!("cannot build the request: {error}"));
    }
    if error.is_timeout() {
        return SinkError::retryable(format!("no answer within {timeout:?}"));
    }
    let kind = if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    SinkError::retryable(format!("{kind}: {}", error_chain(&error)))
}

/// An error with its sources, which carry the useful part (`Connection refused`).
///
/// ```
/// let io = std::io::Error::other("Connection refused");
/// assert_eq!(kev_sinks::http::error_chain(&io), "Connection refused");
/// ```
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The `Retry-After` header of an answer, as text (parsed by [`classify_status`]).
pub fn retry_after(headers: &HeaderMap) -> Option<String> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The start of an answer's body on one line, for an error message (and a dead letter).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(ERROR_BODY_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}
