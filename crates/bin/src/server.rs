//! The HTTP listener: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz`
//! (every readiness check passes).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

/// Buckets for every `_seconds` histogram: sub-millisecond store appends up to
/// multi-minute remediation calls.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// Installs the global Prometheus recorder for the `metrics` facade.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .context("invalid histogram buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")
}

/// A named condition `/readyz` requires.
pub type Check = (String, Box<dyn Fn() -> bool + Send + Sync>);

struct AppState {
    metrics: PrometheusHandle,
    checks: Vec<Check>,
}

/// Binds `listen` and serves until `shutdown`. Binding errors are returned at once so a
/// busy port stops `kev run` before it starts watching.
pub async fn serve(
    listen: SocketAddr,
    metrics: PrometheusHandle,
    checks: Vec<Check>,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen)"))?;
    let state = Arc::new(AppState { metrics, checks });
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state);
    tracing::info!(%listen, "serving /metrics, /healthz and /readyz");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP listener failed");
        }
    }))
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> String {
    state.metrics.render()
}

async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    let failing: Vec<&str> = state
        .checks
        .iter()
        .filter(|(_, ok)| !ok())
        .map(|(name, _)| name.as_str())
        .collect();
    if failing.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failing.join(", ")),
        )
    }
}
