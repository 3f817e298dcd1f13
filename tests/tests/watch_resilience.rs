//! The main scenario: 10 000 Events created and 2 000 updated across 50
//! namespaces while the watch runs, the connection cut every 997 events and 410 Expired
//! injected twice. The store must hold exactly what the server served (every version
//! delivered on a watch or present in a relist), the latest version of every Event,
//! and nothing twice.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::MemoryStore;
use kev_tests::fake_api::core_event;
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, stored_keys, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_and_expiries_lose_nothing_and_store_nothing_twice() {
    let server = fast_server().await;
    server.faults().drop_every(997);
    server.faults().expire_at(3_000);
    server.faults().expire_at(7_500);
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    wait_until("the source is ready", Duration::from_secs(10), || {
        run.health.is_ready()
    })
    .await;

    let mut created = 0usize;
    let mut updated = 0usize;
    for i in 0..12_000usize {
        if i % 6 == 5 {
            // Update an Event created a little earlier: count + 1.
            let j = created - 1 - (i * 7919) % created.min(200);
            let ns = format!("ns-{}", j % 50);
            let name = format!("e{j}");
            let count = server.get(&ns, &name).unwrap().core["count"]
                .as_i64()
                .unwrap();
            server
                .patch(&ns, &name, &serde_json::json!({"count": count + 1}))
                .unwrap();
            updated += 1;
        } else {
            let ns = format!("ns-{}", created % 50);
            server
                .create(&ns, core_event(&ns, &format!("e{created}"), "BackOff"))
                .unwrap();
            created += 1;
        }
        if i % 64 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    assert_eq!((created, updated), (10_000, 2_000));

    wait_until(
        "the latest version of every Event is stored",
        Duration::from_secs(60),
        || has_latest(&server, &run.store),
    )
    .await;
    let stats = run.health.stats();
    let store = Arc::clone(&run.store);
    let report = run.stop().await;

    let (stored, n) = stored_keys(&store);
    let served = server.served();
    assert_eq!(n, stored.len(), "an (uid, resourceVersion) stored twice");
    assert_eq!(stored.len() as u64, report.stored);
    let missing: Vec<_> = served.difference(&stored).take(5).collect();
    let extra: Vec<_> = stored.difference(&served).take(5).collect();
    assert!(missing.is_empty(), "served but not stored: {missing:?}");
    assert!(extra.is_empty(), "stored but never served: {extra:?}");
    assert!(stored.len() >= 10_000, "every Event at least once");
    assert!(stored.len() <= 12_000, "at most every version");
    assert_eq!(stats.restarts_expired, 2, "two 410s, two relists");
    assert_eq!(stats.skipped, 0);
    // Both expiries happened, so at least 7 500 events went out on watches.
    assert!(server.faults().delivered() >= 7_500);
    eprintln!(
        "stored {} versions, {} watch events delivered, {} watch requests, {} list pages",
        stored.len(),
        server.faults().delivered(),
        server.watch_requests(),
        server.list_requests()
    );
    assert!(server.watch_requests() >= 12, "a reconnect after every cut");
}
