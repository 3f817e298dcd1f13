//! The server of the read API: `/api/v1/events`, `/api/v1/summary` (what `kev stats`
//! shows), `/api/v1/log`, `/api/v1/stats`, `/api/v1/dead-letters`. JSON answers; bad
//! parameters answer 400 with the reason.
//!
//! Its two write endpoints change the store: `POST /api/v1/dead-letters/retry` sends
//! the selected dead letters to their running routes again, `POST
//! /api/v1/dead-letters/drop` removes them. Both take a JSON body (a
//! [`DeadLetterSelect`]), which a browser does not send across origins without a CORS
//! preflight that this server never answers.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kev_core::pipeline::RouteControl;
use kev_core::pipeline::redeliver::{self, RetryReport};
use kev_core::store::dead_letters::DeadLetterSelect;
use kev_core::store::summary::{Summary, SummaryReport};
use kev_core::store::{AsyncStore, StoreOp};
use tokio_util::sync::CancellationToken;

use super::params::QueryParams;
use super::wire::{DeadLetterRequest, DropResponse, LogRequest, MAX_PAGE, StatsResponse};
use crate::error::DaemonError;

/// What the handlers reach: the store, and the running routes for a retry.
#[derive(Debug, Clone)]
struct ApiState {
    store: AsyncStore,
    routes: RouteControl,
}

impl FromRef<ApiState> for AsyncStore {
    fn from_ref(state: &ApiState) -> Self {
        state.store.clone()
    }
}

/// Binds `listen` and serves the API until `shutdown`; a retry delivers through the
/// routes `routes` runs.
pub async fn serve(
    listen: SocketAddr,
    store: AsyncStore,
    routes: RouteControl,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let app = Router::new()
        .route("/api/v1/events", get(events))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/log", get(log))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/dead-letters", get(dead_letters))
        .route("/api/v1/dead-letters/retry", post(retry))
        .route("/api/v1/dead-letters/drop", post(drop_letters))
        .with_state(ApiState { store, routes });
    crate::listener::spawn(
        listen,
        "server.api_listen or --api-listen",
        "the read API",
        app,
        shutdown,
    )
    .await
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

async fn retry(
    State(state): State<ApiState>,
    axum::Json(select): axum::Json<DeadLetterSelect>,
) -> Result<axum::Json<RetryReport>, ApiError> {
    let targets = state.routes.targets().await.map_err(|e| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{e}: its routes cannot deliver"),
        )
    })?;
    Ok(axum::Json(
        redeliver::retry(&state.store, &targets, select).await?,
    ))
}

async fn drop_letters(
    State(store): State<AsyncStore>,
    axum::Json(select): axum::Json<DeadLetterSelect>,
) -> Result<axum::Json<DropResponse>, ApiError> {
    let dropped = redeliver::drop_letters(&store, select).await?.len() as u64;
    Ok(axum::Json(DropResponse { dropped }))
}
