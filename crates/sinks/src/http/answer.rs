//! [`answer`]: a receiver's answer read (a bounded part of its body, so the connection
//! goes back to the pool) and turned into its body or a classified [`SinkError`].

use kev_core::SinkError;

use super::auth::LoadedAuth;
use super::status::{ERROR_BODY_CHARS, classify_status, one_line, retry_after};

/// At most this much of an answer's body is read.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The body of a 2xx answer (its first [`MAX_ANSWER_BYTES`]); for any other status the
/// error of [`classify_status`], with the start of the body (credentials `auth` sent
/// redacted from it) and the receiver's `Retry-After`.
pub async fn answer(
    mut response: reqwest::Response,
    auth: &LoadedAuth,
) -> Result<Vec<u8>, SinkError> {
    let status = response.status();
    let limit = if status.is_success() {
        MAX_ANSWER_BYTES
    } else {
        ERROR_BODY_CHARS * 4
    };
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            // The status is what counts; a body cut short only shortens the message.
            Ok(None) | Err(_) => break,
        }
    }
    if status.is_success() {
        return Ok(bytes);
    }
    let after = retry_after(response.headers());
    let text = auth.redact(&one_line(&String::from_utf8_lossy(&bytes)));
    Err(classify_status(status, after.as_deref(), &text))
}
