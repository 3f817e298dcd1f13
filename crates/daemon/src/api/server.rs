//! The server of the read API: `/api/v1/events`, `/api/v1/summary` (what `kev stats`
//! shows), `/api/v1/log`, `/api/v1/stats`, `/api/v1/dead-letters`. JSON answers; bad
//! parameters answer 400 with the reason.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kev_core::store::summary::{Summary, SummaryReport};
use kev_core::store::{AsyncStore, StoreOp};
use tokio_util::sync::CancellationToken;

use super::params::QueryParams;
use super::wire::{DeadLetterRequest, LogRequest, MAX_PAGE, StatsResponse};
use crate::error::DaemonError;

/// Binds `listen` and serves the API until `shutdown`.
pub async fn serve(
    listen: SocketAddr,
    store: AsyncStore,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let app = Router::new()
        .route("/api/v1/events", get(events))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/log", get(log))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/dead-letters", get(dead_letters))
        .with_state(store);
    crate::listener::spawn(listen, "server.api_listen", "the read API", app, shutdown).await
}

struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl From<kev_core::StoreError> for ApiError {
    fn from(e: kev_core::StoreError) -> Self {
        Self(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

async fn events(
    State(store): State<AsyncStore>,
    Query(params): Query<QueryParams>,
) -> Result<axum::Json<Vec<kev_core::StoredEvent>>, ApiError> {
    let mut query = params
        .to_query(jiff::Timestamp::now())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    query.limit = Some(query.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE));
    Ok(axum::Json(store.query(query).await?))
}

/// The summary of every event the filters select, added up here one event at a time;
/// `limit` is the number of top reasons and objects (default 10).
async fn summary(
    State(store): State<AsyncStore>,
    Query(params): Query<QueryParams>,
) -> Result<axum::Json<SummaryReport>, ApiError> {
    let top = params.limit.unwrap_or(10).min(MAX_PAGE);
    let mut query = params
        .to_query(jiff::Timestamp::now())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    query.limit = None;
    let summary = store
        .run(StoreOp::Read, move |s| Summary::of_query(s, &query))
        .await?;
    Ok(axum::Json(summary.report(top)))
}

async fn log(
    State(store): State<AsyncStore>,
    Query(req): Query<LogRequest>,
) -> Result<axum::Json<Vec<kev_core::StoredEvent>>, ApiError> {
    let limit = req.limit.min(MAX_PAGE);
    Ok(axum::Json(store.read_log(req.from, limit).await?))
}

async fn stats(State(store): State<AsyncStore>) -> Result<axum::Json<StatsResponse>, ApiError> {
    let s = store.stats().await?;
    Ok(axum::Json(StatsResponse {
        events: s.events,
        bytes: s.bytes,
        first_seq: s.first_seq,
        last_seq: s.last_seq,
    }))
}

async fn dead_letters(
    State(store): State<AsyncStore>,
    Query(req): Query<DeadLetterRequest>,
) -> Result<axum::Json<Vec<kev_core::DeadLetter>>, ApiError> {
    let limit = req.limit.min(MAX_PAGE);
    Ok(axum::Json(store.dead_letters(req.route, limit).await?))
}
