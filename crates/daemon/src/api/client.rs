//! [`Access`]: how the read commands reach the history: the store file itself, or —
//! when a running `kev run` holds the database lock — that daemon's local API
//! (`server.api_listen`), through its HTTP client.

use std::io::Write;

use kev_core::store::summary::{Summary, SummaryReport};
use kev_core::store::{AsyncStore, StoreOp};
use kev_core::{DeadLetter, Event, StoreError, StoredEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::params::QueryParams;
use super::wire::{DeadLetterRequest, LogRequest, MAX_PAGE, StatsResponse};
use crate::backends::store::backend;
use crate::config::RawConfig;
use crate::error::DaemonError;

/// The history, read directly or through the daemon.
#[derive(Debug)]
pub enum Access {
    Direct(AsyncStore),
    Daemon {
        client: reqwest::Client,
        base: String,
    },
}

impl Access {
    /// Opens the configured store; if another process holds it, uses that process's API.
    /// `server` forces the API at that base URL.
    /// A store type not compiled in is a config error of `store.type`, as for `kev run`.
    pub async fn open(config: &RawConfig, server: Option<&str>) -> Result<Self, DaemonError> {
        if let Some(base) = server {
            return Ok(Self::daemon(base));
        }
        match backend(config.store.r#type)?.open_for_reading(&config.store.path) {
            Ok(store) => Ok(Self::Direct(AsyncStore::new(store))),
            Err(DaemonError::Store(StoreError::Io { source, .. }))
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Err(DaemonError::NoStore(config.store.path.clone()))
            }
            Err(DaemonError::Store(StoreError::Locked { path })) if config.server.api_enabled() => {
                let base = format!("http://{}", config.server.api_connect_address());
                tracing::info!(%path, %base, "the store is in use by a running kev; asking it through its API");
                Ok(Self::daemon(&base))
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn daemon(base: &str) -> Self {
        Self::Daemon {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn query(&self, request: &QueryParams) -> Result<Vec<StoredEvent>, DaemonError> {
        match self {
            Self::Direct(store) => {
                let query = request.to_query(jiff::Timestamp::now())?;
                Ok(store.query(query).await?)
            }
            Self::Daemon { client, base } => {
                let events: Vec<StoredEvent> =
                    get(client, &format!("{base}/api/v1/events"), request).await?;
                let cut = MAX_PAGE;
                if events.len() == cut && request.limit.is_none_or(|n| n > cut) {
                    tracing::warn!(
                        "the running kev answers at most {cut} events per query: narrow the query, or stop it to read the store directly"
                    );
                }
                Ok(events)
            }
        }
    }

    /// What `kev stats` shows for the events `request` selects (all of them: its limit is
    /// ignored), with the `top` reasons and objects, added up where the store is.
    pub async fn summary(
        &self,
        request: &QueryParams,
        top: usize,
    ) -> Result<SummaryReport, DaemonError> {
        let mut request = request.clone();
        match self {
            Self::Direct(store) => {
                request.limit = None;
                let query = request.to_query(jiff::Timestamp::now())?;
                let summary = store
                    .run(StoreOp::Read, move |s| Summary::of_query(s, &query))
                    .await?;
                Ok(summary.report(top))
            }
            Self::Daemon { client, base } => {
                // `/api/v1/summary` takes the top as its `limit`.
                request.limit = Some(top);
                get(client, &format!("{base}/api/v1/summary"), &request).await
            }
        }
    }

    pub async fn read_log(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, DaemonError> {
        match self {
            Self::Direct(store) => Ok(store.read_log(from, limit).await?),
            Self::Daemon { client, base } => {
                get(
                    client,
                    &format!("{base}/api/v1/log"),
                    &LogRequest { from, limit },
                )
                .await
            }
        }
    }

    pub async fn last_seq(&self) -> Result<u64, DaemonError> {
        match self {
            Self::Direct(store) => Ok(store.last_seq().await?),
            Self::Daemon { client, base } => {
                let stats: StatsResponse =
                    get(client, &format!("{base}/api/v1/stats"), &()).await?;
                Ok(stats.last_seq)
            }
        }
    }

    pub async fn dead_letters(
        &self,
        route: Option<String>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, DaemonError> {
        match self {
            Self::Direct(store) => Ok(store.dead_letters(route, limit).await?),
            Self::Daemon { client, base } => {
                get(
                    client,
                    &format!("{base}/api/v1/dead-letters"),
                    &DeadLetterRequest { route, limit },
                )
                .await
            }
        }
    }
}

/// Writes the events `request` selects in `store` to `out` with `write`, in the request's
/// order, each as the store reads it, so memory does not follow their number; then
/// flushes `out`.
pub async fn write_each<W, F>(
    store: &AsyncStore,
    request: &QueryParams,
    out: W,
    write: F,
) -> Result<(), DaemonError>
where
    W: Write + Send + 'static,
    F: Fn(&mut W, &Event) -> std::io::Result<()> + Send + 'static,
{
    let query = request.to_query(jiff::Timestamp::now())?;
    let (mut out, failed) = store
        .query_each(query, (out, None), move |(out, failed), e| {
            match write(out, &e.event) {
                Ok(()) => true,
                Err(err) => {
                    *failed = Some(err);
                    false
                }
            }
        })
        .await?;
    match failed {
        Some(err) => Err(err.into()),
        None => Ok(out.flush()?),
    }
}

async fn get<Q: Serialize + ?Sized, T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    query: &Q,
) -> Result<T, DaemonError> {
    answer(url, client.get(url).query(query)).await
}

/// A POST of `body` as JSON (the API's write endpoints).
pub(super) async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    body: &B,
) -> Result<T, DaemonError> {
    answer(url, client.post(url).json(body)).await
}

async fn answer<T: DeserializeOwned>(
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<T, DaemonError> {
    let response = request
        .send()
        .await
        .map_err(|source| DaemonError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(DaemonError::Refused {
            url: url.to_owned(),
            status,
            body: body.trim().to_owned(),
        });
    }
    response
        .json()
        .await
        .map_err(|source| DaemonError::Unexpected {
            url: url.to_owned(),
            source,
        })
}
