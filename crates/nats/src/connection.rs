//! How kev reaches NATS, for the sink and the source alike: [`ConnectionConfig`]
//! (servers, credentials, TLS) and [`connect`].

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectOptions;
use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// How to reach the NATS servers. Secrets are never written here: they come from a
/// `.creds` file, a password file or an environment variable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Server URLs (`nats://host:4222`, `tls://host:4222`); the client tries them all
    /// and follows the cluster's gossip of other members.
    pub servers: Vec<String>,
    /// A `.creds` file (user JWT + nkey seed), as `nsc` writes it.
    #[serde(default)]
    pub creds_file: Option<PathBuf>,
    /// User name; its password comes from `password_file` or `password_env`.
    #[serde(default)]
    pub user: Option<String>,
    /// File holding the password of `user`, read at connect.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password of `user`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// TLS settings (also turns TLS on when `required: true`).
    #[serde(default)]
    pub tls: NatsTlsConfig,
    /// Time allowed to connect to one server; default `5s`.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub connect_timeout: Duration,
    /// Refused: a password in clear in the config.
    #[serde(default)]
    pub(crate) password: Option<IgnoredAny>,
}

/// TLS towards NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsTlsConfig {
    /// Require TLS even when the URL says `nats://`.
    #[serde(default)]
    pub required: bool,
    /// PEM file of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS; needs `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

impl ConnectionConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.password.is_some() {
            return Err(ConfigError::new(
                "password",
                "a password is not written in the config: use password_file or password_env",
            ));
        }
        if self.servers.is_empty() {
            return Err(ConfigError::new("servers", "at least one server URL"));
        }
        for (i, server) in self.servers.iter().enumerate() {
            if server.parse::<async_nats::ServerAddr>().is_err() {
                return Err(ConfigError::new(
                    format!("servers[{i}]"),
                    format!("{server:?} is not a NATS URL (nats://host:4222)"),
                ));
            }
            if server.contains('@') {
                return Err(ConfigError::new(
                    format!("servers[{i}]"),
                    "credentials in the URL are refused: use creds_file or user + password_file",
                ));
            }
        }
        let password = self.password_file.is_some() || self.password_env.is_some();
        if self.password_file.is_some() && self.password_env.is_some() {
            return Err(ConfigError::new(
                "password_env",
                "set password_file or password_env, not both",
            ));
        }
        if password && self.user.is_none() {
            return Err(ConfigError::new("user", "a password needs a user"));
        }
        if self.user.is_some() && !password {
            return Err(ConfigError::new(
                "password_file",
                "user needs password_file or password_env",
            ));
        }
        if self.creds_file.is_some() && self.user.is_some() {
            return Err(ConfigError::new(
                "creds_file",
                "set creds_file or user + password, not both",
            ));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(ConfigError::new(
                "tls.key_file",
                "cert_file and key_file go together",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be more than 0s"));
        }
        Ok(())
    }
}

/// Why kev could not reach NATS; the text never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("reading NATS credentials {field}: {detail}")]
    Credentials { field: &'static str, detail: String },
    #[error("connecting to NATS {servers}: {detail}")]
    Connect { servers: String, detail: String },
}

/// Connects with the configured credentials and TLS. The client reconnects by itself
/// (forever) after this first connection succeeded.
pub async fn connect(
    config: &ConnectionConfig,
    name: &str,
) -> Result<async_nats::Client, ConnectError> {
    let mut options = ConnectOptions::new()
        .name(name)
        .connection_timeout(config.connect_timeout)
        .max_reconnects(None);
    if let Some(path) = &config.creds_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| ConnectError::Credentials {
                field: "creds_file",
                detail: format!("{}: {e}", path.display()),
            })?;
    }
    if let Some(user) = &config.user {
        options = options.user_and_password(user.clone(), password(config)?);
    }
    let tls = &config.tls;
    if tls.required {
        options = options.require_tls(true);
    }
    if let Some(ca) = &tls.ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let servers = config.servers.join(",");
    let addrs: Vec<async_nats::ServerAddr> = config
        .servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<_, _>>()
        .map_err(|e| ConnectError::Connect {
            servers: servers.clone(),
            detail: e.to_string(),
        })?;
    options
        .connect(addrs)
        .await
        .map_err(|e| ConnectError::Connect {
            servers,
            detail: e.to_string(),
        })
}

/// The password of `user`, from its file or variable; trimmed of the trailing newline.
fn password(config: &ConnectionConfig) -> Result<String, ConnectError> {
    let value = if let Some(path) = &config.password_file {
        std::fs::read_to_string(path).map_err(|e| ConnectError::Credentials {
            field: "password_file",
            detail: format!("{}: {e}", path.display()),
        })?
    } else if let Some(var) = &config.password_env {
        std::env::var(var).map_err(|_| ConnectError::Credentials {
            field: "password_env",
            detail: format!("environment variable {var} is not set or not UTF-8"),
        })?
    } else {
        return Err(ConnectError::Credentials {
            field: "password_file",
            detail: "user needs password_file or password_env".into(),
        });
    };
    let value = value.trim_end_matches(['\r', '\n']).to_owned();
    if value.is_empty() {
        return Err(ConnectError::Credentials {
            field: "password_file",
            detail: "the password is empty".into(),
        });
    }
    Ok(value)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
