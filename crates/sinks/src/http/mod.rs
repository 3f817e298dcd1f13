//! What every HTTP sink shares: one client builder with TLS and timeouts
//! ([`TlsConfig`]), status classification with `Retry-After` ([`classify_status`]),
//! the error chain of a failed request ([`error_chain`]), credentials read from files
//! or the environment, and URL checks. A sink folder holds only what is its own (its
//! config, its request body, its answer), so a new HTTP sink starts from here.
//!
//! ```
//! use reqwest::StatusCode;
//! use kev_sinks::http::classify_status;
//! let busy = classify_status(StatusCode::TOO_MANY_REQUESTS, Some("2"), "slow down");
//! assert!(busy.retryable);
//! assert_eq!(busy.retry_after, Some(std::time::Duration::from_secs(2)));
//! assert!(!classify_status(StatusCode::BAD_REQUEST, None, "bad field").retryable);
//! ```

mod auth;
mod client;
mod secret;
mod status;
mod tls;
mod url;

pub(crate) use auth::{Auth, LoadedAuth};
pub(crate) use client::ClientOptions;
pub(crate) use secret::{Secret, SecretSource, validate_env_name};
pub(crate) use status::{ERROR_BODY_CHARS, classify_transport, one_line, retry_after};
pub use status::{classify_status, error_chain, parse_retry_after};
pub use tls::TlsConfig;
pub(crate) use url::parse_url;
