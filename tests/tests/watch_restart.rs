//! Restart from the stored checkpoint: without relisting when the history is still
//! there, with a relist (and dedup) when the server compacted past the checkpoint.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::pipeline::PipelineReport;
use kev_core::{MemoryStore, Store};
use kev_kube_source::WatchStats;
use kev_tests::fake_api::{FakeApiServer, core_event};
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, stored_keys, wait_until};

async fn first_run(server: &FakeApiServer, store: &Arc<MemoryStore>) {
    for i in 0..500 {
        let ns = format!("ns-{}", i % 5);
        server
            .create(&ns, core_event(&ns, &format!("old{i}"), "Pulled"))
            .unwrap();
    }
    let run = Running::start(server, fast_config(), Arc::clone(store));
    wait_until("the first 500 are stored", Duration::from_secs(20), || {
        has_latest(server, store)
    })
    .await;
    let newest = server.resource_version();
    wait_until("the checkpoint is written", Duration::from_secs(5), || {
        store
            .checkpoint("kube")
            .unwrap()
            .is_some_and(|c| c.position == format!(r#"{{"core":"{newest}"}}"#))
    })
    .await;
    let report = run.stop().await;
    assert_eq!(report.stored, 500);
}

/// Runs again until the 2,000 events made while stopped are stored: the watch stats and
/// the run's report.
async fn second_run(
    server: &FakeApiServer,
    store: &Arc<MemoryStore>,
) -> (WatchStats, PipelineReport) {
    let run = Running::start(server, fast_config(), Arc::clone(store));
    wait_until(
        "the 2 000 new ones are stored",
        Duration::from_secs(20),
        || has_latest(server, store),
    )
    .await;
    let stats = run.health.stats();
    (stats, run.stop().await)
}

async fn create_while_stopped(server: &FakeApiServer) {
    for i in 0..2_000 {
        let ns = format!("ns-{}", i % 5);
        server
            .create(&ns, core_event(&ns, &format!("new{i}"), "Created"))
            .unwrap();
    }
}

#[tokio::test]
async fn resumes_from_the_checkpoint_without_a_list() {
    let server = fast_server().await;
    let store = Arc::new(MemoryStore::new());
    first_run(&server, &store).await;
    let lists_before = server.list_requests();
    create_while_stopped(&server).await;

    let (stats, report) = second_run(&server, &store).await;
    assert_eq!(
        server.list_requests(),
        lists_before,
        "resumed by a watch, no list"
    );
    assert_eq!((report.stored, report.duplicates), (2_000, 0));
    assert_eq!(stats.restarts_expired, 0);
    let (keys, n) = stored_keys(&store);
    assert_eq!((keys.len(), n), (2_500, 2_500));
}

#[tokio::test]
async fn relists_when_compacted_past_the_checkpoint_and_stores_nothing_twice() {
    let server = fast_server().await;
    let store = Arc::new(MemoryStore::new());
    first_run(&server, &store).await;
    create_while_stopped(&server).await;
    server.compact();

    let (stats, report) = second_run(&server, &store).await;
    assert_eq!(stats.restarts_expired, 1, "one 410, one relist");
    assert_eq!(report.stored, 2_000);
    assert_eq!(
        report.duplicates, 500,
        "the relist showed the first 500 again; dedup dropped them"
    );
    let (keys, n) = stored_keys(&store);
    assert_eq!((keys.len(), n), (2_500, 2_500));
}

#[tokio::test]
async fn a_bare_http_410_on_watch_start_relists_instead_of_retrying_forever() {
    let server = fast_server().await;
    let store = Arc::new(MemoryStore::new());
    first_run(&server, &store).await;
    create_while_stopped(&server).await;
    server.faults().bare_410_on_next_watches(1);

    let (stats, report) = second_run(&server, &store).await;
    assert_eq!(stats.restarts_expired, 1);
    assert_eq!(stats.failures, 0, "a 410 is not a failure to back off from");
    assert_eq!((report.stored, report.duplicates), (2_000, 500));
}
