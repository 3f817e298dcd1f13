//! Leader election with real `kev run` processes against the fake API server: replicas
//! share one redb store path and one webhook; each marks its deliveries with its own
//! header. Only the leader watches and delivers; after SIGKILL a standby takes over
//! within lease duration + renew deadline; after SIGTERM the Lease is released and the
//! next standby takes over at once; no event is delivered by two replicas. A leader
//! that cannot renew stops and exits non-zero.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kev_tests::daemon::{Kev, eventually, write_kubeconfig};
use kev_tests::fake_api::{FakeApiServer, core_event};
use kev_tests::harness::fast_server;
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(3);
const RENEW_DEADLINE: Duration = Duration::from_secs(2);
/// Generous bound for process start-up and polling on a busy machine.
const SLACK: Duration = Duration::from_secs(20);

/// (replica header, Idempotency-Key) of every request.
type Deliveries = Arc<Mutex<Vec<(String, String)>>>;

async fn receiver() -> (String, Deliveries) {
    let got: Deliveries = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Deliveries>, headers: HeaderMap| async move {
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    got.lock()
                        .unwrap()
                        .push((header("x-kev-replica"), header("idempotency-key")));
                    StatusCode::OK
                },
            ),
        )
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn config(dir: &Path, kubeconfig: &Path, hook: &str, replica: &str) -> String {
    format!(
        r#"cluster: test
source: {{type: kube, kubeconfig: "{kubeconfig}", backoff_initial: 20ms, backoff_max: 200ms, stall_timeout: 3s}}
store: {{type: redb, path: "{store}"}}
pipeline: {{drain_timeout: 2s}}
leader_election:
  enabled: true
  namespace: kev
  lease_name: kev
  lease_duration: 3s
  renew_deadline: 2s
  retry_period: 500ms
  identity: {replica}
routes:
  - name: hook
    retry: {{initial: 50ms, max: 200ms}}
    sinks:
      - type: webhook
        url: "{hook}"
        headers: {{X-Kev-Replica: {replica}}}
"#,
        kubeconfig = kubeconfig.display(),
        store = dir.join("store").display(),
    )
}

/// Creates `names` and waits until each reached the webhook and the leader `kev`
/// committed its route cursor (`kev_route_backlog` back to 0 after the deliveries).
async fn deliver(server: &FakeApiServer, got: &Deliveries, leader: &Kev, names: &[&str]) {
    let before = got.lock().unwrap().len();
    for name in names {
        server
            .create("default", core_event("default", name, "Started"))
            .unwrap();
    }
    eventually("the events at the webhook", SLACK, || async {
        (got.lock().unwrap().len() >= before + names.len()).then_some(())
    })
    .await;
    eventually("the route cursor committed", SLACK, || async {
        (leader
            .metrics()
            .await
            .sum("kev_route_backlog", &[("route", "hook")])
            == 0.0)
            .then_some(())
    })
    .await;
}

fn by_replica(got: &Deliveries) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (replica, key) in got.lock().unwrap().iter() {
        map.entry(replica.clone()).or_default().push(key.clone());
    }
    map
}

fn holder_changes(server: &FakeApiServer) -> Vec<(Instant, Option<String>)> {
    let mut out: Vec<(Instant, Option<String>)> = Vec::new();
    for w in server.lease_writes() {
        if out.last().is_none_or(|(_, h)| *h != w.holder) {
            out.push((Instant::from_std(w.at), w.holder));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_delivers_and_standbys_take_over_after_kill_and_after_sigterm() {
    let server = fast_server().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let (hook, got) = receiver().await;
    let start = |name: &str| {
        Kev::start(
            dir.path(),
            name,
            &config(dir.path(), &kubeconfig, &hook, name),
            &[],
        )
    };

    let mut a = start("a");
    a.wait_ready("ready: leader", SLACK).await;
    let mut b = start("b");
    b.wait_ready("ready: standby", SLACK).await;
    deliver(&server, &got, &a, &["e1", "e2", "e3"]).await;
    let (am, bm) = (a.metrics().await, b.metrics().await);
    assert_eq!(am.sum("kev_leader", &[]), 1.0);
    assert_eq!(bm.sum("kev_leader", &[]), 0.0);
    assert!(am.sum("kev_events_received_total", &[]) >= 3.0);
    assert_eq!(
        bm.sum("kev_events_received_total", &[]),
        0.0,
        "a standby watches nothing"
    );
    assert_eq!(by_replica(&got).keys().collect::<Vec<_>>(), vec!["a"]);

    // SIGKILL the leader: b takes over once the Lease stopped changing for its duration.
    a.kill().await;
    let killed = Instant::now();
    b.wait_ready("ready: leader", SLACK).await;
    let changes = holder_changes(&server);
    let (took_over_at, holder) = changes.last().unwrap().clone();
    assert_eq!(holder.as_deref(), Some("b"), "{changes:?}");
    let after = took_over_at.duration_since(killed);
    assert!(
        after <= LEASE + RENEW_DEADLINE,
        "b took the lease {after:?} after the kill"
    );
    deliver(&server, &got, &b, &["e4", "e5"]).await;
    assert_eq!(
        b.metrics()
            .await
            .sum("kev_leader_transitions_total", &[("event", "acquired")]),
        1.0
    );

    // SIGTERM the leader with c waiting: b releases the Lease after closing the store,
    // c takes it at its next attempt, well before the Lease would have expired.
    let mut c = start("c");
    c.wait_ready("ready: standby", SLACK).await;
    b.terminate();
    let status = b.wait_exit(SLACK).await;
    assert!(status.success(), "graceful stop: {status}\n{}", b.log());
    c.wait_ready("ready: leader", SLACK).await;
    let changes = holder_changes(&server);
    let n = changes.len();
    assert_eq!(changes[n - 2].1, None, "b released: {changes:?}");
    assert_eq!(changes[n - 1].1.as_deref(), Some("c"));
    let handover = changes[n - 1].0.duration_since(changes[n - 2].0);
    assert!(
        handover < LEASE,
        "c took a released lease after {handover:?}"
    );
    deliver(&server, &got, &c, &["e6"]).await;

    // Every event went out exactly once, each through the replica leading at the time.
    let replicas = by_replica(&got);
    let mut seen: HashMap<String, String> = HashMap::new();
    for (replica, keys) in &replicas {
        for key in keys {
            if let Some(other) = seen.insert(key.clone(), replica.clone()) {
                panic!("{key} delivered by {other} and {replica}: {replicas:?}");
            }
        }
    }
    assert_eq!(seen.len(), 6, "{replicas:?}");
    assert_eq!(replicas["a"].len(), 3);
    assert_eq!(replicas["b"].len(), 2);
    assert_eq!(replicas["c"].len(), 1);
    c.terminate();
    assert!(c.wait_exit(SLACK).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_stops_and_exits_non_zero() {
    let server = fast_server().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let (hook, _got) = receiver().await;
    let mut a = Kev::start(
        dir.path(),
        "a",
        &config(dir.path(), &kubeconfig, &hook, "a"),
        &[],
    );
    a.wait_ready("ready: leader", SLACK).await;
    server.go_down();
    let down = Instant::now();
    let status = a.wait_exit(SLACK).await;
    assert!(!status.success(), "{status}");
    // Renew deadline, then at most the rest of the Lease for the pipeline to stop.
    assert!(
        down.elapsed() < LEASE + Duration::from_secs(3),
        "exited {:?} after the API went away",
        down.elapsed()
    );
    let log = a.log();
    assert!(log.contains("lost the leader lease"), "{log}");
}
