//! The webhook sink ([`WebhookSink`]): events POSTed (or PUT) as JSON to an HTTP(S)
//! endpoint, one per request or as a batch array, with auth read from files or the
//! environment, TLS settings, timeouts and an `Idempotency-Key` header.

mod classify;
mod config;
mod encoder;
mod secret;
mod sink;
#[cfg(test)]
mod tests;

pub use classify::{classify_status, parse_retry_after};
pub use config::{BasicAuthConfig, HttpMethod, TlsConfig, WebhookSinkConfig};
pub use encoder::idempotency_key_header;
pub use sink::WebhookSink;
