//! [`ClientOptions`]: the one place an HTTP sink's client is built — TLS, timeouts, no
//! redirects, kev's user agent — for reqwest 0.12 (the sinks' own requests) and, for
//! rmcp's Streamable HTTP transport, reqwest 0.13.

use std::time::Duration;

use kev_core::config::ConfigError;

use super::tls::TlsConfig;

const USER_AGENT: &str = concat!("kev/", env!("CARGO_PKG_VERSION"));

/// How an HTTP sink's client connects. Errors of the build name `tls.…` fields.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions<'a> {
    /// Time allowed for a whole request; `None` when the caller bounds each call itself
    /// (an MCP session's event stream stays open across calls).
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub tls: &'a TlsConfig,
}

/// The same builder calls for both reqwest versions; only the crate and the name of the
/// method that takes a rustls config differ.
macro_rules! build_client {
    ($reqwest:ident, $options:expr, $preconfigured_tls:ident) => {{
        let options = $options;
        let tls = options.tls.rustls_config().map_err(|e| e.within("tls"))?;
        let mut builder = $reqwest::Client::builder()
            .$preconfigured_tls(tls)
            .connect_timeout(options.connect_timeout)
            // A redirected POST may become a GET elsewhere: refuse, as a permanent error.
            .redirect($reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT);
        if let Some(timeout) = options.timeout {
            builder = builder.timeout(timeout);
        }
        builder
            .build()
            .map_err(|e| ConfigError::new("tls", format!("cannot build the HTTP client: {e}")))
    }};
}

impl ClientOptions<'_> {
    /// A reqwest 0.12 client.
    pub fn build(&self) -> Result<reqwest::Client, ConfigError> {
        build_client!(reqwest, self, use_preconfigured_tls)
    }

    /// A reqwest 0.13 client, the version rmcp's transport is built on.
    #[cfg(feature = "mcp")]
    pub fn build_mcp(&self) -> Result<reqwest_mcp::Client, ConfigError> {
        build_client!(reqwest_mcp, self, tls_backend_preconfigured)
    }
}
