//! Shared set-up of the recorder suites: a fake API server behind a counting proxy, a
//! recorder on a manual clock, and small helpers.

#![allow(dead_code)] // each suite uses a different part

use std::sync::Arc;
use std::time::Duration;

use kev_core::{ManualClock, ObjectRef};
use kev_recorder::{Recorder, RecorderConfig, Reporter};
use kev_tests::api_proxy::ApiProxy;
use kev_tests::fake_api::{FakeApiServer, Group};
use serde_json::Value;

pub const CONTROLLER: &str = "kev.dev/test-controller";

/// A server, the proxy in front of it, the recorder's clock, and the recorder.
pub struct Env {
    pub server: FakeApiServer,
    pub proxy: ApiProxy,
    pub clock: Arc<ManualClock>,
    pub recorder: Recorder,
}

/// Retries 10 ms apart, at most 3 tries; the periodic pass only when flushed.
pub fn fast(config: RecorderConfig) -> RecorderConfig {
    RecorderConfig {
        retry_sleep: Duration::from_millis(10),
        max_tries: 3,
        maintenance_interval: Duration::from_secs(24 * 3600),
        request_timeout: Duration::from_secs(10),
        ..config
    }
}

/// Starts everything; with `old_cluster`, events.k8s.io/v1 is not served.
pub async fn env(config: RecorderConfig, old_cluster: bool) -> Env {
    let server = FakeApiServer::start()
        .await
        .unwrap_or_else(|e| panic!("fake API server: {e}"));
    let proxy = ApiProxy::start(&server)
        .await
        .unwrap_or_else(|e| panic!("proxy: {e}"));
    proxy.hide_events_group(old_cluster);
    let clock = Arc::new(ManualClock::new());
    let recorder = Recorder::with_clock(
        proxy.client(),
        Reporter::new(CONTROLLER, "test-controller-0").unwrap_or_else(|e| panic!("{e}")),
        fast(config),
        clock.clone(),
    )
    .unwrap_or_else(|e| panic!("recorder: {e}"));
    Env {
        server,
        proxy,
        clock,
        recorder,
    }
}

pub fn pod(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "shop".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        field_path: String::new(),
    }
}

/// The live Events as events.k8s.io/v1 objects.
pub fn live_events(server: &FakeApiServer) -> Vec<Value> {
    server
        .live()
        .iter()
        .map(|r| r.value(Group::Events))
        .collect()
}

/// How many occurrences the API server holds for one Event: its series count, or
/// `deprecatedCount`, or 1.
pub fn occurrences(event: &Value) -> u64 {
    event["series"]["count"]
        .as_u64()
        .or_else(|| event["deprecatedCount"].as_u64().filter(|c| *c > 0))
        .unwrap_or(1)
}
