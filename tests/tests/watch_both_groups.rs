//! `api: both`: the same Events seen through core/v1 and events.k8s.io/v1 are stored
//! once; the checkpoint holds both resourceVersions.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::{MemoryStore, Store};
use kev_kube_source::{ApiChoice, KubeSourceConfig};
use kev_tests::fake_api::core_event;
use kev_tests::harness::{Running, fast_config, fast_server, has_latest, stored_keys, wait_until};

#[tokio::test]
async fn both_api_groups_store_each_version_once() {
    let server = fast_server().await;
    for i in 0..300 {
        server
            .create("web", core_event("web", &format!("a{i}"), "Scheduled"))
            .unwrap();
    }
    let config = KubeSourceConfig {
        api: ApiChoice::Both,
        ..fast_config()
    };
    let run = Running::start(&server, config, Arc::new(MemoryStore::new()));
    wait_until("listed", Duration::from_secs(20), || {
        has_latest(&server, &run.store)
    })
    .await;
    for i in 0..700 {
        server
            .create("web", core_event("web", &format!("b{i}"), "Scheduled"))
            .unwrap();
    }
    for i in 0..100 {
        server
            .patch("web", &format!("b{i}"), &serde_json::json!({"count": 2}))
            .unwrap();
    }
    // Each version comes twice, once per group.
    wait_until(
        "both watches delivered everything",
        Duration::from_secs(20),
        || run.health.stats().events == 2 * 1_100,
    )
    .await;
    let newest = server.resource_version();
    wait_until(
        "the checkpoint holds both positions",
        Duration::from_secs(5),
        || {
            run.store.checkpoint("kube").unwrap().is_some_and(|c| {
                c.position == format!(r#"{{"core":"{newest}","events":"{newest}"}}"#)
            })
        },
    )
    .await;
    let store = Arc::clone(&run.store);
    let report = run.stop().await;
    assert_eq!(report.stored, 1_100);
    assert_eq!(report.duplicates, 1_100);
    let (keys, n) = stored_keys(&store);
    assert_eq!((keys.len(), n), (1_100, 1_100));
}

#[tokio::test]
async fn namespaces_are_watched_one_by_one_and_others_are_ignored() {
    let server = fast_server().await;
    for ns in ["a", "b", "c"] {
        for i in 0..50 {
            server
                .create(ns, core_event(ns, &format!("e{i}"), "Killing"))
                .unwrap();
        }
    }
    let config = KubeSourceConfig {
        namespaces: vec!["a".into(), "c".into()],
        field_selector: Some("reason=Killing".into()),
        ..fast_config()
    };
    let run = Running::start(&server, config, Arc::new(MemoryStore::new()));
    wait_until("two namespaces listed", Duration::from_secs(20), || {
        run.health.stats().events == 100
    })
    .await;
    server
        .create("b", core_event("b", "late", "Killing"))
        .unwrap();
    server
        .create("c", core_event("c", "other", "Pulled"))
        .unwrap();
    server
        .create("c", core_event("c", "late", "Killing"))
        .unwrap();
    wait_until("the late one in c", Duration::from_secs(20), || {
        run.health.stats().events == 101
    })
    .await;
    let store = Arc::clone(&run.store);
    run.stop().await;
    let events = store.read_log(0, usize::MAX).unwrap();
    assert_eq!(events.len(), 101);
    assert!(
        events
            .iter()
            .all(|e| e.event.namespace != "b" && e.event.reason == "Killing")
    );
    let cp = store.checkpoint("kube").unwrap().unwrap();
    assert!(
        cp.position.contains("\"core/a\"") && cp.position.contains("\"core/c\""),
        "{}",
        cp.position
    );
}
