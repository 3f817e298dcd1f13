//! [`send`]: one request of an HTTP sink, with its credentials and `Idempotency-Key`;
//! a request that got no answer comes back as a classified [`SinkError`].

use std::time::Duration;

use kev_core::SinkError;
use reqwest::header::{HeaderName, HeaderValue};

use super::auth::LoadedAuth;
use super::status::classify_transport;

/// The header that lets a receiver drop a repeated delivery (at-least-once).
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Sends `request` with `auth` and, when there is one, the `idempotency_key`. `timeout`
/// is the client's, named in the error when it ran out.
pub async fn send(
    request: reqwest::RequestBuilder,
    auth: &LoadedAuth,
    idempotency_key: Option<HeaderValue>,
    timeout: Duration,
) -> Result<reqwest::Response, SinkError> {
    let request = match idempotency_key {
        Some(key) => request.header(IDEMPOTENCY_KEY, key),
        None => request,
    };
    auth.apply(request)
        .send()
        .await
        .map_err(|e| classify_transport(e, timeout))
}
