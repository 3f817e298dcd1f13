//! What the read API's server and client exchange besides [`QueryParams`]
//! and core's types: request parameters, the stats
//! answer, and the page bound both sides know.
//!
//! [`QueryParams`]: crate::api::params::QueryParams

use serde::{Deserialize, Serialize};

/// Largest page one request may ask for: bounds the daemon's memory per request.
pub const MAX_PAGE: usize = 10_000;

/// `/api/v1/log` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogRequest {
    pub from: u64,
    pub limit: usize,
}

/// `/api/v1/dead-letters` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetterRequest {
    pub route: Option<String>,
    pub limit: usize,
}

/// `/api/v1/stats` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatsResponse {
    pub events: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// `POST /api/v1/dead-letters/drop` answer (its body, and that of `…/retry`, is a
/// `kev_core::store::dead_letters::DeadLetterSelect`; `…/retry` answers a
/// `kev_core::pipeline::redeliver::RetryReport`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DropResponse {
    pub dropped: u64,
}
