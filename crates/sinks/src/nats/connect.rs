//! [`connect`]: a NATS client from a [`ConnectionConfig`], with credentials and TLS.

use async_nats::ConnectOptions;

use super::config::ConnectionConfig;

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
