//! [`spawn`]: one HTTP listener of the daemon (metrics and health, the read API), bound
//! before it is spawned so that a busy port stops `kev run` before it starts watching.

use std::net::SocketAddr;

use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::error::DaemonError;

/// Binds `listen` (the config field `field` names it) and serves `app` until `shutdown`;
/// `what` says what it serves, in the logs.
pub(crate) async fn spawn(
    listen: SocketAddr,
    field: &'static str,
    what: &'static str,
    app: Router,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: listen,
            field,
            source,
        })?;
    tracing::info!(%listen, "serving {what}");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the listener of {what} failed");
        }
    }))
}
