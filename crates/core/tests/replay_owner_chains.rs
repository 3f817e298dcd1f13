//! A replay has no API server to ask: the ingest gives each stored event the owner
//! chain its involved object's name shows, marked inferred; an event that arrives with
//! a chain (kev's own JSON, a fleet agent's message) keeps it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is a failed test

use std::sync::Arc;

use kev_core::pipeline::Pipeline;
use kev_core::{DefaultNormalizer, MemoryStore, NormalizeConfig, ReplaySource, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn kube(name: &str, kind: &str, object: &str) -> String {
    json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("u-{name}"), "resourceVersion": "1"},
        "involvedObject": {"kind": kind, "name": object, "namespace": "shop"},
        "reason": "BackOff", "type": "Warning",
        "lastTimestamp": "2024-01-01T00:00:01Z"
    })
    .to_string()
}

#[tokio::test]
async fn replayed_events_get_inferred_chains_and_shipped_chains_stay() {
    let shipped = json!({
        "namespace": "shop", "name": "x.1", "uid": "u-shipped", "resourceVersion": "1",
        "type": "Warning", "reason": "BackOff",
        "regarding": {"kind": "Pod", "name": "web-7d4b9c8f6-x2x4z", "namespace": "shop"},
        "owners": {"links": [
            {"kind": "ReplicaSet", "name": "web-7d4b9c8f6", "uid": "rs-uid"},
            {"kind": "Deployment", "name": "web", "uid": "deploy-uid"}
        ]},
        "lastSeen": "2024-01-01T00:00:02Z"
    });
    let input = [
        kube("a", "Pod", "web-7d4b9c8f6-x2x4z"),
        kube("b", "Pod", "db-0"),
        kube("c", "Node", "node-1"),
        shipped.to_string(),
    ]
    .join("\n");
    let source = ReplaySource::from_reader("chains.jsonl", std::io::Cursor::new(input));
    let normalizer = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let report = Pipeline::new(Box::new(source), Arc::new(normalizer), store.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.stored, 4);
    let stored = store.read_log(1, 10).unwrap();
    let chain = |uid: &str| {
        let e = &stored.iter().find(|s| s.event.uid == uid).unwrap().event;
        let path: Vec<String> = e
            .owners
            .links
            .iter()
            .map(|l| format!("{}/{}/{}", l.kind, l.name, l.uid))
            .collect();
        (path, e.owners.inferred)
    };
    assert_eq!(
        chain("u-a"),
        (
            vec!["ReplicaSet/web-7d4b9c8f6/".into(), "Deployment/web/".into()],
            true
        )
    );
    assert_eq!(chain("u-b"), (vec!["StatefulSet/db/".into()], true));
    assert_eq!(chain("u-c"), (vec![], false));
    assert_eq!(
        chain("u-shipped"),
        (
            vec![
                "ReplicaSet/web-7d4b9c8f6/rs-uid".into(),
                "Deployment/web/deploy-uid".into()
            ],
            false
        )
    );
    // kev's JSON carries the chain, so `kev query -o json` and sinks see it.
    let json = serde_json::to_value(&stored[0].event).unwrap();
    assert_eq!(json["owners"]["inferred"], true);
    assert_eq!(json["owners"]["links"][1]["name"], "web");
}
