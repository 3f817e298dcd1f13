//! The dead-letter commands' side of [`Access`]: `kev dead-letter retry` and `drop` change
//! the store, directly when no daemon holds it, else through that daemon's write
//! endpoints (`POST /api/v1/dead-letters/retry`, `…/drop`).

use kev_core::StoreError;
use kev_core::pipeline::redeliver::{self, RetryReport, RouteTargets};
use kev_core::store::AsyncStore;
use kev_core::store::dead_letters::DeadLetterSelect;

use super::client::{Access, post};
use super::wire::DropResponse;
use crate::assemble::build_route;
use crate::config::ValidatedConfig;
use crate::error::DaemonError;

impl Access {
    /// Opens the configured store for writing, without creating one; if a running kev
    /// holds it, uses that kev's API (`server` forces the API at that base URL).
    pub async fn open_for_writing(
        config: &ValidatedConfig,
        server: Option<&str>,
    ) -> Result<Self, DaemonError> {
        if let Some(base) = server {
            return Ok(Self::daemon(base));
        }
        let raw = config.raw();
        match config.store.open_existing(&raw.store.path) {
            Ok(store) => Ok(Self::Direct(AsyncStore::new(store))),
            Err(DaemonError::Store(StoreError::Io { source, .. }))
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Err(DaemonError::NoStore(raw.store.path.clone()))
            }
            Err(DaemonError::Store(StoreError::Locked { path })) if raw.server.api_enabled() => {
                let base = format!("http://{}", raw.server.api_connect_address());
                tracing::info!(%path, %base, "the store is in use by a running kev; asking it through its API");
                Ok(Self::daemon(&base))
            }
            Err(e) => Err(e),
        }
    }

    /// Sends the dead letters `select` picks to their routes again: those of the running
    /// kev, or, on the store itself, the routes of `config` built here.
    pub async fn retry_dead_letters(
        &self,
        config: &ValidatedConfig,
        select: &DeadLetterSelect,
    ) -> Result<RetryReport, DaemonError> {
        match self {
            Self::Direct(store) => {
                let targets = targets(config, store)?;
                Ok(redeliver::retry(store, &targets, select.clone()).await?)
            }
            Self::Daemon { client, base } => {
                post(client, &format!("{base}/api/v1/dead-letters/retry"), select).await
            }
        }
    }

    /// Removes the dead letters `select` picks; returns how many.
    pub async fn drop_dead_letters(&self, select: &DeadLetterSelect) -> Result<u64, DaemonError> {
        match self {
            Self::Direct(store) => {
                Ok(redeliver::drop_letters(store, select.clone()).await?.len() as u64)
            }
            Self::Daemon { client, base } => {
                let answer: DropResponse =
                    post(client, &format!("{base}/api/v1/dead-letters/drop"), select).await?;
                Ok(answer.dropped)
            }
        }
    }
}

/// The config file's routes, built as `kev run` builds them, without a cluster client:
/// an enricher gathers only what the store holds.
fn targets(config: &ValidatedConfig, store: &AsyncStore) -> Result<RouteTargets, DaemonError> {
    let mut targets = RouteTargets::new();
    for (index, route) in config.routes.iter().enumerate() {
        let built =
            build_route(route, store.inner(), None).map_err(|source| DaemonError::Route {
                index,
                name: route.config().name.clone(),
                source,
            })?;
        targets.insert(built.name().to_owned(), built.target());
    }
    Ok(targets)
}
