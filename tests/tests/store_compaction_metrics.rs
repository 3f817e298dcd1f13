//! `kev run` (the real binary, redb store, a route whose webhook never answers) under a
//! hard cap: after compaction, `/metrics` shows each store counter once — one series,
//! labelled `backend="redb"`, whose value is the number of events removed — so a
//! `sum()` over it does not count a removal twice.
#![allow(clippy::unwrap_used)] // a test: a panic is a failure

use std::time::Duration;

use kev_tests::daemon::{Kev, eventually, free_port, write_kubeconfig};
use kev_tests::fake_api::core_event;
use kev_tests::harness::fast_server;

const NS: &str = "kev-compaction";
const EVENTS: u32 = 10;
const HARD_CAP: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_counters_are_scraped_once_per_removed_event() {
    let server = fast_server().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    // Nothing listens there: the route never acknowledges, so only the hard cap
    // removes events, and every one it removes is undelivered.
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let config = format!(
        r#"cluster: fake
source: {{type: kube, kubeconfig: "{kubeconfig}", backoff_initial: 20ms, backoff_max: 200ms}}
store:
  type: redb
  path: "{store}"
  retention: {{hard_max_events: {HARD_CAP}}}
  compaction_interval: 100ms
routes:
  - name: stuck
    match: [{{namespace: {NS}}}]
    sinks: [{{type: webhook, url: "{dead}"}}]
"#,
        kubeconfig = kubeconfig.display(),
        store = dir.path().join("store").display(),
    );
    let mut kev = Kev::start(dir.path(), "kev", &config, &[]);
    kev.wait_ready("ready", Duration::from_secs(30)).await;
    for i in 0..EVENTS {
        server
            .create(NS, core_event(NS, &format!("e{i}"), "Pulled"))
            .unwrap();
    }
    let removed = f64::from(EVENTS - HARD_CAP);
    let metrics = eventually(
        "compaction down to the hard cap",
        Duration::from_secs(30),
        || async {
            let m = kev.metrics().await;
            (m.sum("kev_events_stored_total", &[]) == f64::from(EVENTS)
                && m.sum("kev_store_compacted_total", &[]) >= removed)
                .then_some(m)
        },
    )
    .await;
    for name in [
        "kev_store_compacted_total",
        "kev_store_evicted_undelivered_total",
    ] {
        assert_eq!(metrics.sum(name, &[]), removed, "{name}:\n{}", kev.log());
        assert_eq!(
            metrics.sum(name, &[("backend", "redb")]),
            removed,
            "{name}: every sample carries the backend"
        );
    }
    // The stuck route would hold a graceful stop for its whole drain timeout.
    kev.kill().await;
}
