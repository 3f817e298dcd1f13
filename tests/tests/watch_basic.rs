//! The kube source against the fake API server: paginated initial list, then the watch;
//! DELETED events counted, not stored; the checkpoint follows the watch.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::{MemoryStore, Store};
use kev_kube_source::KubeSourceConfig;
use kev_tests::fake_api::core_event;
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, stored_keys, wait_until};

#[tokio::test]
async fn lists_in_pages_then_watches_and_stores_every_version_once() {
    let server = fast_server().await;
    for i in 0..1234 {
        let ns = format!("ns-{}", i % 7);
        server
            .create(&ns, core_event(&ns, &format!("e{i}"), "Started"))
            .unwrap();
    }
    let config = KubeSourceConfig {
        page_size: 100,
        ..fast_config()
    };
    let run = Running::start(&server, config, Arc::new(MemoryStore::new()));
    wait_until(
        "the initial list is stored",
        Duration::from_secs(20),
        || has_latest(&server, &run.store),
    )
    .await;
    assert_eq!(server.list_requests(), 13, "1234 items in pages of 100");
    for i in 0..300 {
        server
            .patch(
                &format!("ns-{}", i % 7),
                &format!("e{i}"),
                &serde_json::json!({"count": 2}),
            )
            .unwrap();
    }
    for i in 300..310 {
        server
            .delete(&format!("ns-{}", i % 7), &format!("e{i}"))
            .unwrap();
    }
    let newest = server.resource_version();
    wait_until("the updates are stored", Duration::from_secs(20), || {
        has_latest(&server, &run.store) && run.health.stats().deleted == 10
    })
    .await;
    wait_until(
        "the checkpoint reaches the newest resourceVersion",
        Duration::from_secs(5),
        || {
            run.store
                .checkpoint("kube")
                .unwrap()
                .is_some_and(|c| c.position == format!(r#"{{"core":"{newest}"}}"#))
        },
    )
    .await;
    assert!(run.health.is_ready());
    let stats = run.health.stats();
    let store = Arc::clone(&run.store);
    let report = run.stop().await;
    let (keys, n) = stored_keys(&store);
    assert_eq!((keys.len(), n), (1534, 1534), "nothing stored twice");
    assert_eq!(report.stored, 1534, "1234 created + 300 updated");
    assert_eq!(report.duplicates, 0);
    assert_eq!(
        (stats.events, stats.deleted, stats.restarts_expired),
        (1534, 10, 0)
    );
    assert_eq!(server.watch_requests(), 1);
}
