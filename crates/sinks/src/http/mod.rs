//! What every HTTP sink shares, so that a sink's folder holds only what is its own (its
//! config, its request body, its answer) and a new HTTP sink starts from here:
//!
//! - [`ClientOptions`]: the one client builder — TLS from a [`TlsConfig`], timeouts, no
//!   redirects, kev's user agent — for reqwest 0.12 and (rmcp's transport) 0.13;
//! - [`send`]: a request with its [`LoadedAuth`] and `Idempotency-Key`, a transport
//!   failure classified ([`classify_transport`]);
//! - [`answer`]: the body of a 2xx answer, or the classified error of any other;
//! - [`classify_status`]: retryable or permanent, with the receiver's `Retry-After`;
//!   [`error_chain`] and [`one_line`] for the error's text;
//! - [`Auth`] and [`SecretSource`]: a bearer token or basic-auth password from a file
//!   (read again per batch) or an environment variable, never from the config file;
//! - [`extra_headers`]: a sink's `headers:` without credentials or kev's own headers;
//! - [`parse_url`]: an `http`/`https` endpoint without credentials in it.
//!
//! ```
//! use reqwest::StatusCode;
//! use kev_sinks::http::classify_status;
//! let busy = classify_status(StatusCode::TOO_MANY_REQUESTS, Some("2"), "slow down");
//! assert!(busy.retryable);
//! assert_eq!(busy.retry_after, Some(std::time::Duration::from_secs(2)));
//! assert!(!classify_status(StatusCode::BAD_REQUEST, None, "bad field").retryable);
//! ```

mod answer;
mod auth;
mod client;
mod headers;
mod request;
mod secret;
mod status;
mod tls;
mod url;

pub use answer::{MAX_ANSWER_BYTES, answer};
pub use auth::{Auth, LoadedAuth};
pub use client::ClientOptions;
pub use headers::extra_headers;
pub use request::{IDEMPOTENCY_KEY, send};
pub use secret::{Secret, SecretSource, validate_env_name, validate_token_fields};
pub use status::{
    ERROR_BODY_CHARS, classify_status, classify_transport, error_chain, one_line,
    parse_retry_after, retry_after,
};
pub use tls::TlsConfig;
pub use url::parse_url;
