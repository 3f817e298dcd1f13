//! The kube source reads owner chains from the objects' `ownerReferences` on the fake
//! API server: the first event of an unseen object goes on at once (with the chain its
//! name shows, if any), its later events carry the API's chain with uids; objects
//! deleted before kev saw them fall back to the names' chain; the stored chains stay
//! after every object is gone.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::sync::Arc;
use std::time::Duration;

use kev_core::{MemoryStore, OwnerChain, Store};
use kev_tests::fake_api::{DEPLOYMENTS, FakeApiServer, REPLICA_SETS, core_event};
use kev_tests::harness::{Running, fast_config, fast_server, wait_until};
use serde_json::json;

fn meta(name: &str, uid: &str, owner: Option<(&str, &str, &str, &str)>) -> serde_json::Value {
    let mut m = json!({"name": name, "namespace": "shop", "uid": uid});
    if let Some((api_version, kind, name, uid)) = owner {
        m["ownerReferences"] = json!([
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-the-controller", "uid": "cm"},
            {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": true}
        ]);
    }
    m
}

/// Deployment `worker` → ReplicaSet `worker-main` → Pod `worker-main-pod`: names no
/// rule can read, so only the API can tell.
fn create_workload(server: &FakeApiServer) {
    server
        .create_object(
            &DEPLOYMENTS,
            "shop",
            json!({"metadata": meta("worker", "d-1", None)}),
        )
        .unwrap();
    let rs_owner = ("apps/v1", "Deployment", "worker", "d-1");
    server
        .create_object(
            &REPLICA_SETS,
            "shop",
            json!({"metadata": meta("worker-main", "rs-1", Some(rs_owner))}),
        )
        .unwrap();
    let pod_owner = ("apps/v1", "ReplicaSet", "worker-main", "rs-1");
    server.pods().pod(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta("worker-main-pod", "pod-1", Some(pod_owner))
    }));
}

fn chain_of(store: &MemoryStore, name: &str) -> OwnerChain {
    store
        .read_log(0, usize::MAX)
        .unwrap()
        .into_iter()
        .find(|s| s.event.name == name)
        .map(|s| s.event.owners)
        .unwrap_or_else(|| panic!("{name} is not stored"))
}

fn path(chain: &OwnerChain) -> Vec<String> {
    chain
        .links
        .iter()
        .map(|l| format!("{}/{}/{}", l.kind, l.name, l.uid))
        .collect()
}

/// An event about the pod `object`.
fn event_about(server: &FakeApiServer, name: &str, object: &str, uid: &str) {
    let mut e = core_event("shop", name, "BackOff");
    e["involvedObject"]["name"] = json!(object);
    e["involvedObject"]["uid"] = json!(uid);
    server.create("shop", e).unwrap();
}

fn pod_gets(server: &FakeApiServer, pod: &str) -> usize {
    let requests = server.pods().pod_requests.lock().unwrap();
    requests.iter().filter(|(_, name)| name == pod).count()
}

/// Sends events about `object` until one is stored that `done` accepts; returns its name.
async fn until_stored(
    server: &FakeApiServer,
    store: &MemoryStore,
    object: &str,
    uid: &str,
    what: &str,
    done: impl Fn(&OwnerChain) -> bool,
) -> String {
    let mut n = 0;
    let mut found = None;
    wait_until(what, Duration::from_secs(10), || {
        n += 1;
        event_about(server, &format!("{object}.{n}"), object, uid);
        found = store
            .read_log(0, usize::MAX)
            .unwrap()
            .into_iter()
            .find(|s| s.event.regarding.name == object && done(&s.event.owners))
            .map(|s| s.event.name);
        found.is_some()
    })
    .await;
    found.unwrap()
}

#[tokio::test]
async fn chains_come_from_owner_references_and_outlive_the_objects() {
    let server = fast_server().await;
    create_workload(&server);
    let run = Running::start(&server, fast_config(), Arc::new(MemoryStore::new()));
    let store = Arc::clone(&run.store);
    event_about(&server, "first", "worker-main-pod", "pod-1");
    wait_until("the first event is stored", Duration::from_secs(10), || {
        store.stats().unwrap().events == 1
    })
    .await;
    assert!(
        chain_of(&store, "first").is_empty(),
        "not delayed for the lookup; its name shows no owner"
    );
    // Later events of the object carry the chain once the resolver has read it.
    let resolved = until_stored(
        &server,
        &store,
        "worker-main-pod",
        "pod-1",
        "the API's chain",
        |c| !c.is_empty(),
    )
    .await;
    let chain = chain_of(&store, &resolved);
    assert_eq!(
        path(&chain),
        ["ReplicaSet/worker-main/rs-1", "Deployment/worker/d-1"],
        "the controller reference, not the first one"
    );
    assert!(!chain.inferred);

    // Everything deleted; then a pod of a Deployment reports that kev never saw.
    server.pods().remove("shop", "worker-main-pod");
    server
        .delete_object(&REPLICA_SETS, "shop", "worker-main")
        .unwrap();
    server
        .delete_object(&DEPLOYMENTS, "shop", "worker")
        .unwrap();
    let late = "web-7d4b9c8f6-x2x4z";
    until_stored(
        &server,
        &store,
        late,
        "pod-2",
        "the late pod's events",
        |c| c.inferred,
    )
    .await;
    wait_until(
        "the late pod was looked up",
        Duration::from_secs(10),
        || pod_gets(&server, late) == 1,
    )
    .await;
    // A few more events of both pods: answered from the cache.
    for i in 0..5 {
        event_about(&server, &format!("again-late.{i}"), late, "pod-2");
        event_about(
            &server,
            &format!("again-worker.{i}"),
            "worker-main-pod",
            "pod-1",
        );
    }
    wait_until(
        "the last events are stored",
        Duration::from_secs(10),
        || {
            store
                .read_log(0, usize::MAX)
                .unwrap()
                .iter()
                .filter(|s| s.event.name.starts_with("again-"))
                .count()
                == 10
        },
    )
    .await;
    let report = run.stop().await;
    assert_eq!(report.normalize_errors, 0);
    assert_eq!(
        (
            pod_gets(&server, late),
            pod_gets(&server, "worker-main-pod")
        ),
        (1, 1),
        "one GET per object, then the cache"
    );
    let log = store.read_log(0, usize::MAX).unwrap();
    for s in log.iter().filter(|s| s.event.regarding.name == late) {
        // 404: the names' chain, as the ingest gave the first events.
        assert_eq!(
            path(&s.event.owners),
            ["ReplicaSet/web-7d4b9c8f6/", "Deployment/web/"],
            "{}",
            s.event.name
        );
        assert!(s.event.owners.inferred);
    }
    for s in log
        .iter()
        .filter(|s| s.event.name.starts_with("again-worker"))
    {
        assert_eq!(
            path(&s.event.owners),
            path(&chain),
            "cached after the deletion"
        );
    }
    // The stored chain is still there with every object gone.
    assert_eq!(path(&chain_of(&store, &resolved)), path(&chain));
}
