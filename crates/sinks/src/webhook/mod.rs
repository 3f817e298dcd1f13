//! The webhook sink ([`WebhookSink`]): events POSTed (or PUT) as JSON to an HTTP(S)
//! endpoint, one per request or as a batch array, with auth read from files or the
//! environment, TLS settings, timeouts and an `Idempotency-Key` header.

mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use config::{BasicAuthConfig, HttpMethod, WebhookSinkConfig};
pub use encoder::idempotency_key_header;
pub use sink::WebhookSink;
