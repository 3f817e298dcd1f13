//! The HTTP listener: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz`
//! (every readiness check passes; a standby of leader election is ready as a standby).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use kev_core::condition::ConditionTracker;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::error::DaemonError;

/// Buckets for every `_seconds` histogram: sub-millisecond store appends up to
/// multi-minute remediation calls.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// Installs the global Prometheus recorder for the `metrics` facade.
pub fn install_metrics() -> Result<PrometheusHandle, DaemonError> {
    let start = |what| {
        move |e| DaemonError::Start {
            what,
            source: Box::new(e),
        }
    };
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .map_err(start("invalid histogram buckets"))?
        .install_recorder()
        .map_err(start("cannot install the metrics recorder"))
}

/// A named condition `/readyz` requires.
pub type Check = (String, Box<dyn Fn() -> bool + Send + Sync>);

/// What `/readyz` answers, filled in as the run goes: the pipeline's checks once it is
/// assembled (before: not ready, `starting`), and with leader election the role.
#[derive(Clone, Default)]
pub struct Readiness(Arc<RwLock<ReadinessState>>);

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Readiness").field(&self.answer().1).finish()
    }
}

#[derive(Default)]
struct ReadinessState {
    checks: Option<Vec<Check>>,
    /// `Some` with leader election: whether this process leads now.
    leader: Option<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl Readiness {
    /// Readiness of a run that has assembled its pipeline with `checks`.
    pub fn set_checks(&self, checks: Vec<Check>) {
        self.write().checks = Some(checks);
    }

    /// Marks the run as a leader-election candidate; `is_leader` says its role now.
    pub fn set_role(&self, is_leader: impl Fn() -> bool + Send + Sync + 'static) {
        self.write().leader = Some(Box::new(is_leader));
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ReadinessState> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `/readyz` answer: a standby is ready (it has nothing to watch); a leader or a
    /// run without election is ready when every check of its pipeline passes.
    fn answer(&self) -> (StatusCode, String) {
        let state = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let role = state.leader.as_ref().map(|is_leader| is_leader());
        if role == Some(false) {
            return (StatusCode::OK, "ready: standby\n".into());
        }
        let suffix = if role == Some(true) { ": leader" } else { "" };
        let Some(checks) = &state.checks else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready{suffix}: starting\n"),
            );
        };
        let failing: Vec<&str> = checks
            .iter()
            .filter(|(_, ok)| !ok())
            .map(|(name, _)| name.as_str())
            .collect();
        if failing.is_empty() {
            (StatusCode::OK, format!("ready{suffix}\n"))
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready{suffix}: {}\n", failing.join(", ")),
            )
        }
    }
}

/// What `/metrics` answers: the recorder's metrics, then the state gauges, which are
/// rendered from the tracker at scrape time (an ended condition leaves no series).
#[derive(Clone)]
pub struct Exposition {
    pub metrics: PrometheusHandle,
    pub conditions: Option<Arc<ConditionTracker>>,
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposition")
            .field("conditions", &self.conditions.is_some())
            .finish_non_exhaustive()
    }
}

impl Exposition {
    pub fn render(&self) -> String {
        let mut text = self.metrics.render();
        if let Some(tracker) = &self.conditions {
            text.push_str(&tracker.render());
        }
        text
    }
}

struct AppState {
    metrics: Exposition,
    readiness: Readiness,
}

/// Binds `listen` and serves until `shutdown`. Binding errors are returned at once so a
/// busy port stops `kev run` before it starts watching.
pub async fn serve(
    listen: SocketAddr,
    metrics: Exposition,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let state = Arc::new(AppState { metrics, readiness });
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state);
    let what = "/metrics, /healthz and /readyz";
    crate::listener::spawn(listen, "server.listen or --listen", what, app, shutdown).await
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> String {
    let ready = state.readiness.answer().0 == StatusCode::OK;
    metrics::gauge!(kev_core::metrics::READY).set(if ready { 1.0 } else { 0.0 });
    state.metrics.render()
}

async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    state.readiness.answer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_role_and_the_checks() {
        let r = Readiness::default();
        assert_eq!(r.answer().0, StatusCode::SERVICE_UNAVAILABLE, "starting");
        let leading = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let l = Arc::clone(&leading);
        r.set_role(move || l.load(std::sync::atomic::Ordering::Relaxed));
        assert_eq!(r.answer(), (StatusCode::OK, "ready: standby\n".into()));
        leading.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            r.answer(),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: leader: starting\n".into()
            )
        );
        let ok = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let o = Arc::clone(&ok);
        r.set_checks(vec![(
            "watch".into(),
            Box::new(move || o.load(std::sync::atomic::Ordering::Relaxed)),
        )]);
        assert_eq!(
            r.answer(),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: leader: watch\n".into()
            )
        );
        ok.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(r.answer(), (StatusCode::OK, "ready: leader\n".into()));
    }
}
