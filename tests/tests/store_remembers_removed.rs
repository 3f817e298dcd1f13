//! `kev run` (the real binary, redb store, a file route) against an API server that holds
//! events older than kev's `max_age`: retention removes them right after delivery, and
//! every relist sends them again. With `remember_removed` (the default) they are
//! duplicates: stored once, written to the file once. With `remember_removed: 0s` the
//! same run stores and delivers them again on every relist, which shows the check bites.
#![allow(clippy::unwrap_used)] // a test: a panic is a failure

use std::path::Path;
use std::time::Duration;

use kev_tests::daemon::{Kev, eventually, write_kubeconfig};
use kev_tests::fake_api::{FakeApiServer, core_event};
use kev_tests::harness::fast_server;

const NS: &str = "kev-old";
const OLD_EVENTS: usize = 20;
const RELISTS: usize = 3;

/// An event last seen eleven days ago, with retention at seven.
fn old_event(namespace: &str, name: &str) -> serde_json::Value {
    let mut event = core_event(namespace, name, "BackOff");
    let old = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(11 * 24)).to_string();
    event["firstTimestamp"] = old.clone().into();
    event["lastTimestamp"] = old.into();
    event
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// Runs kev over the old events and forces `RELISTS` relists, each once retention has
/// removed everything old: the server goes down, gets a new event and compacts its
/// history past kev's checkpoint, so the resumed watch gets 410 and kev lists again.
/// The bumps are old too (outside the route), so that retention, which removes in log
/// order, is not held up behind a young event.
/// Returns (events stored, lines in the file).
async fn run(remember: &str) -> (f64, usize) {
    let server = fast_server().await;
    for i in 0..OLD_EVENTS {
        server
            .create(NS, old_event(NS, &format!("old-{i}")))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &server.url());
    let file = dir.path().join("delivered.jsonl");
    let config = format!(
        r#"cluster: fake
source: {{type: kube, kubeconfig: "{kubeconfig}", backoff_initial: 20ms, backoff_max: 200ms}}
store:
  type: redb
  path: "{store}"
  retention: {{max_age: 7d, remember_removed: {remember}}}
  compaction_interval: 100ms
routes:
  - name: archive
    match: [{{namespace: {NS}}}]
    sinks: [{{type: file, path: "{file}"}}]
"#,
        kubeconfig = kubeconfig.display(),
        store = dir.path().join("store").display(),
        file = file.display(),
    );
    let mut kev = Kev::start(dir.path(), "kev", &config, &[]);
    kev.wait_ready("ready", Duration::from_secs(30)).await;
    let mut received = 0;
    for round in 0..=RELISTS {
        if round > 0 {
            relist(&server, round).await;
        }
        // The list showed every old event and the bumps so far; once all of them are
        // in (each new bump stored), retention removes everything stored, as all of it
        // is old (after the route delivered it).
        received += OLD_EVENTS + round;
        eventually(
            "the list ingested and the old events removed",
            Duration::from_secs(30),
            || async {
                let m = kev.metrics().await;
                let stored = m.sum("kev_events_stored_total", &[]);
                (m.sum("kev_events_received_total", &[]) >= received as f64
                    && stored >= (OLD_EVENTS + round) as f64
                    && m.sum("kev_store_compacted_total", &[]) >= stored)
                    .then_some(())
            },
        )
        .await;
    }
    let stored = kev.metrics().await.sum("kev_events_stored_total", &[]);
    kev.kill().await;
    (stored, lines(&file))
}

async fn relist(server: &FakeApiServer, round: usize) {
    let lists = server.list_requests();
    server.go_down();
    server
        .create("kev-bump", old_event("kev-bump", &format!("bump-{round}")))
        .unwrap();
    server.compact();
    server.come_up().await.unwrap();
    eventually("the relist after 410", Duration::from_secs(30), || async {
        (server.list_requests() > lists).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_older_than_retention_are_stored_and_delivered_once_across_relists() {
    let (stored, delivered) = run("1d").await;
    assert_eq!(
        stored,
        (OLD_EVENTS + RELISTS) as f64,
        "each old event once, plus one new event per relist"
    );
    assert_eq!(
        delivered, OLD_EVENTS,
        "each old event written to the file once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_remembering_every_relist_stores_and_delivers_them_again() {
    let (stored, delivered) = run("0s").await;
    assert!(
        delivered > OLD_EVENTS,
        "forgotten keys let the relist deliver again: {delivered} lines"
    );
    assert!(stored > (OLD_EVENTS + RELISTS) as f64, "stored {stored}");
}
