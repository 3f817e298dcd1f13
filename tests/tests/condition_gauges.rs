//! The state gauges of the real `kev` binary on the fake API server: a pod in BackOff
//! and one unschedulable are counted in `kev_objects_in_condition`, the recovery event
//! (`Started`) ends the first, and after a restart the second is still counted, rebuilt
//! from the store before any new event arrives.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::time::Duration;

use kev_tests::daemon::{Kev, Metrics, eventually, write_kubeconfig};
use kev_tests::fake_api::core_event;
use kev_tests::harness::fast_server;
use serde_json::{Value, json};

const NS: &str = "kev-state";
const SLACK: Duration = Duration::from_secs(30);

fn event(name: &str, reason: &str, pod: &str) -> Value {
    let mut e = core_event(NS, name, reason);
    e["type"] = json!("Warning");
    e["involvedObject"]["name"] = json!(pod);
    e
}

fn in_condition(m: &Metrics, reason: &str) -> f64 {
    m.sum(
        "kev_objects_in_condition",
        &[("namespace", NS), ("kind", "Pod"), ("reason", reason)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_enter_and_leave_conditions_and_survive_a_restart() {
    let server = fast_server().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let config = format!(
        r#"source: {{type: kube, kubeconfig: "{kubeconfig}", backoff_initial: 20ms, backoff_max: 200ms}}
store: {{type: redb, path: "{store}"}}
routes: [{{name: none, match: [{{reason: NeverSeen}}], sinks: [{{type: stdout}}]}}]
"#,
        kubeconfig = kubeconfig.display(),
        store = dir.path().join("store").display(),
    );
    let mut kev = Kev::start(dir.path(), "kev", &config, &[]);
    kev.wait_ready("ready", SLACK).await;

    server
        .create(NS, event("web.1", "BackOff", "web-0"))
        .unwrap();
    server
        .create(NS, event("web.2", "CrashLoopBackOff", "web-1"))
        .unwrap();
    server
        .create(NS, event("batch.1", "FailedScheduling", "batch-0"))
        .unwrap();
    eventually("both conditions counted", SLACK, || async {
        let m = kev.metrics().await;
        (in_condition(&m, "BackOff") == 2.0 && in_condition(&m, "FailedScheduling") == 1.0)
            .then_some(())
    })
    .await;
    let m = kev.metrics().await;
    assert!(m.has("kev_condition_seconds"));

    server
        .create(NS, event("web.3", "Started", "web-0"))
        .unwrap();
    eventually("web-0 recovered", SLACK, || async {
        (in_condition(&kev.metrics().await, "BackOff") == 1.0).then_some(())
    })
    .await;

    kev.terminate();
    assert!(kev.wait_exit(SLACK).await.success(), "{}", kev.log());
    let mut kev = Kev::start(dir.path(), "kev-again", &config, &[]);
    kev.wait_ready("ready", SLACK).await;
    let m = kev.metrics().await;
    assert_eq!(
        (
            in_condition(&m, "BackOff"),
            in_condition(&m, "FailedScheduling")
        ),
        (1.0, 1.0),
        "rebuilt from the store at start\n{}",
        kev.log()
    );
    kev.terminate();
    assert!(kev.wait_exit(SLACK).await.success(), "{}", kev.log());
}
