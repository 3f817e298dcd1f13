//! The fake API server's own protocol tests: pagination, 410 shapes, bookmarks, both
//! groups, validation, patches, faults, and that kube's typed client reads it all.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kev_tests::fake_api::{FakeApiServer, FakeConfig, HttpFault, core_event, now_micro};
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap())
}

/// Reads a watch response line by line until `n` lines or the end of the stream.
async fn watch_lines(url: &str, n: usize) -> (Vec<Value>, Option<String>) {
    let mut r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = Vec::new();
    let mut lines = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .unwrap()
        {
            Ok(Some(chunk)) => {
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    lines.push(serde_json::from_slice(&line).unwrap());
                    if lines.len() == n {
                        return (lines, None);
                    }
                }
            }
            Ok(None) => return (lines, None),
            Err(e) => return (lines, Some(format!("{e:?}"))),
        }
    }
}

fn seed(server: &FakeApiServer, n: usize) {
    for i in 0..n {
        let ns = if i % 2 == 0 { "a" } else { "b" };
        server
            .create(ns, core_event(ns, &format!("e{i:03}"), "Started"))
            .unwrap();
    }
}

#[tokio::test]
async fn list_pages_are_a_consistent_snapshot_with_continue_tokens() {
    let server = FakeApiServer::start().await.unwrap();
    seed(&server, 25);
    let base = format!("{}/api/v1/events", server.url());
    let (code, page1) = get_json(&format!("{base}?limit=10")).await;
    assert_eq!(code, 200);
    assert_eq!(page1["kind"], "EventList");
    assert_eq!(page1["apiVersion"], "v1");
    assert_eq!(page1["metadata"]["resourceVersion"], "25");
    assert_eq!(page1["metadata"]["remainingItemCount"], 15);
    assert_eq!(page1["items"].as_array().unwrap().len(), 10);
    assert!(
        page1["items"][0].get("kind").is_none(),
        "list items carry no type meta"
    );
    // Writes after the first page do not show in the next pages.
    server
        .create("a", core_event("a", "e000a", "Late"))
        .unwrap();
    server.delete("b", "e011").unwrap();
    let token = page1["metadata"]["continue"].as_str().unwrap();
    let (_, page2) = get_json(&format!("{base}?limit=10&continue={token}")).await;
    assert_eq!(page2["metadata"]["resourceVersion"], "25");
    assert_eq!(page2["metadata"]["remainingItemCount"], 5);
    let names: Vec<&str> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"e000a"));
    assert!(
        names.contains(&"e011"),
        "deleted after the snapshot, still in it"
    );
    let token = page2["metadata"]["continue"].as_str().unwrap();
    let (_, page3) = get_json(&format!("{base}?limit=10&continue={token}")).await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 5);
    assert!(page3["metadata"].get("continue").is_none());

    // A namespaced list, and the newest state without a snapshot.
    let (_, ns_a) = get_json(&format!("{}/api/v1/namespaces/a/events", server.url())).await;
    assert_eq!(ns_a["items"].as_array().unwrap().len(), 14);
    assert_eq!(ns_a["metadata"]["resourceVersion"], "27");

    // A continue token older than the compaction horizon: 410 Expired.
    server.compact();
    let (code, status) = get_json(&format!("{base}?limit=10&continue={token}")).await;
    assert_eq!(code, 410);
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
}

#[tokio::test]
async fn exact_lists_read_history_and_too_large_versions_time_out() {
    let server = FakeApiServer::start().await.unwrap();
    seed(&server, 5);
    server.patch("a", "e000", &json!({"count": 7})).unwrap();
    let base = format!("{}/api/v1/events", server.url());
    let (_, at3) = get_json(&format!(
        "{base}?resourceVersion=3&resourceVersionMatch=Exact"
    ))
    .await;
    assert_eq!(at3["items"].as_array().unwrap().len(), 3);
    assert_eq!(at3["items"][0]["count"], 1, "the version as it was at rv 3");
    let (code, status) = get_json(&format!("{base}?resourceVersion=99")).await;
    assert_eq!((code, status["reason"].as_str()), (504, Some("Timeout")));
    server.compact();
    let (code, status) = get_json(&format!(
        "{base}?resourceVersion=3&resourceVersionMatch=Exact"
    ))
    .await;
    assert_eq!(
        (code, status["message"].as_str()),
        (410, Some("too old resource version: 3 (6)"))
    );
}

#[tokio::test]
async fn watch_from_a_compacted_version_sends_one_410_error_event() {
    let server = FakeApiServer::start().await.unwrap();
    seed(&server, 10);
    server.compact();
    let url = format!("{}/api/v1/events?watch=1&resourceVersion=4", server.url());
    let (lines, err) = watch_lines(&url, 10).await;
    assert!(err.is_none());
    assert_eq!(
        lines,
        vec![json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "too old resource version: 4 (10)", "reason": "Expired", "code": 410}})]
    );
}

#[tokio::test]
async fn watch_sends_changes_after_the_version_then_bookmarks() {
    let server = FakeApiServer::start_with(FakeConfig {
        bookmark_interval: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    seed(&server, 4);
    server.patch("a", "e000", &json!({"count": 2})).unwrap();
    server.delete("b", "e001").unwrap();
    let url = format!(
        "{}/api/v1/events?watch=1&resourceVersion=3&allowWatchBookmarks=true",
        server.url()
    );
    let (lines, _) = watch_lines(&url, 4).await;
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]);
    let rvs: Vec<&str> = lines
        .iter()
        .map(|l| l["object"]["metadata"]["resourceVersion"].as_str().unwrap())
        .collect();
    assert_eq!(rvs, ["4", "5", "6", "6"]);
    assert_eq!(lines[0]["object"]["kind"], "Event");
    assert_eq!(
        lines[3]["object"],
        json!({"kind": "Event", "apiVersion": "v1",
            "metadata": {"resourceVersion": "6", "creationTimestamp": null},
            "involvedObject": {}, "source": {}, "firstTimestamp": null, "lastTimestamp": null,
            "eventTime": null, "reportingComponent": "", "reportingInstance": ""})
    );

    // Without a resourceVersion: the current objects as ADDED first.
    let url = format!(
        "{}/apis/events.k8s.io/v1/namespaces/a/events?watch=true",
        server.url()
    );
    let (lines, _) = watch_lines(&url, 2).await;
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "ADDED" && l["object"]["apiVersion"] == "events.k8s.io/v1")
    );
}

#[tokio::test]
async fn both_groups_show_the_same_object_converted() {
    let server = FakeApiServer::start().await.unwrap();
    let created = server.create("a", core_event("a", "x", "Pulled")).unwrap();
    let (_, core) = get_json(&format!("{}/api/v1/namespaces/a/events/x", server.url())).await;
    let (_, ev) = get_json(&format!(
        "{}/apis/events.k8s.io/v1/namespaces/a/events/x",
        server.url()
    ))
    .await;
    assert_eq!(core["metadata"], ev["metadata"]);
    assert_eq!(core["metadata"]["uid"], created.uid.as_str());
    assert_eq!(core["message"], ev["note"]);
    assert_eq!(core["involvedObject"], ev["regarding"]);
    assert_eq!(core["count"], ev["deprecatedCount"]);
    assert_eq!(core["source"], ev["deprecatedSource"]);
    assert_eq!(core["reportingComponent"], ev["reportingController"]);
    assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
    let (code, nf) = get_json(&format!(
        "{}/apis/events.k8s.io/v1/namespaces/a/events/nope",
        server.url()
    ))
    .await;
    assert_eq!(
        (code, nf["message"].as_str()),
        (404, Some("events.events.k8s.io \"nope\" not found"))
    );
}

#[tokio::test]
async fn events_group_writes_are_validated_like_the_api_server() {
    let server = FakeApiServer::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/apis/events.k8s.io/v1/namespaces/a/events", server.url());
    let bad = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "r1"},
        "regarding": {"kind": "Pod", "namespace": "a", "name": "p"}, "type": "Normal", "note": "n"});
    let r = http.post(&url).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["message"],
        "Event.events.k8s.io \"r1\" is invalid: eventTime: Required value"
    );
    assert_eq!(
        status["details"]["causes"][0],
        json!({"reason": "FieldValueRequired", "message": "Required value", "field": "eventTime"})
    );

    let good = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "r1"},
        "regarding": {"kind": "Pod", "namespace": "a", "name": "p"}, "type": "Warning", "note": "n",
        "eventTime": now_micro(), "reportingController": "kev.dev/recorder", "reportingInstance": "kev-0",
        "action": "Reconcile", "reason": "Failed"});
    let r = http.post(&url).json(&good).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["metadata"]["resourceVersion"], "1");

    // A series update is allowed; changing the note is not.
    let patch_url = format!("{url}/r1");
    let series = json!({"series": {"count": 2, "lastObservedTime": now_micro()}});
    let r = http
        .patch(&patch_url)
        .header("content-type", "application/merge-patch+json")
        .body(series.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .patch(&patch_url)
        .header("content-type", "application/strategic-merge-patch+json")
        .body(json!({"note": "other"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["details"]["causes"][0]["field"], "note");
    let r = http
        .patch(&patch_url)
        .header("content-type", "application/json-patch+json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(server.get("a", "r1").unwrap().core["series"]["count"], 2);

    // core/v1 keeps the legacy rules only: namespaces must agree.
    let core_url = format!("{}/api/v1/namespaces/a/events", server.url());
    let mut ev = core_event("a", "c1", "Pulled");
    ev["involvedObject"]["namespace"] = json!("other");
    let r = http.post(&core_url).json(&ev).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = http
        .post(&core_url)
        .json(&core_event("a", "c1", "Pulled"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(&core_url)
        .json(&core_event("a", "c1", "Pulled"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn faults_answer_and_cut_as_planned() {
    let server = FakeApiServer::start().await.unwrap();
    seed(&server, 10);
    let base = format!("{}/api/v1/events", server.url());
    server.faults().fail_next(
        1,
        HttpFault {
            status: 429,
            retry_after_secs: Some(3),
        },
    );
    let r = reqwest::get(&base).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["details"]["retryAfterSeconds"], 3);

    server.faults().bare_410_on_next_watches(1);
    let (code, status) = get_json(&format!("{base}?watch=1&resourceVersion=5")).await;
    assert_eq!((code, status["reason"].as_str()), (410, Some("Expired")));

    // Cut after 3 events: the stream ends with an error, not a final chunk.
    server.faults().drop_every(3);
    let (lines, err) = watch_lines(&format!("{base}?watch=1&resourceVersion=2"), 100).await;
    assert_eq!(lines.len(), 3);
    assert!(err.is_some(), "the connection was cut");
    server.faults().drop_every(0);

    // 410 mid-stream after 2 more events: an ERROR line, and resuming is 410 too.
    server.faults().expire_at(5);
    let (lines, err) = watch_lines(&format!("{base}?watch=1&resourceVersion=2"), 100).await;
    assert!(err.is_none());
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["object"]["code"], 410);
    assert_eq!(
        lines[2]["object"]["message"],
        "too old resource version: 4 (10)"
    );
}

#[tokio::test]
async fn kube_typed_clients_read_lists_and_watches_of_both_groups() {
    let server = FakeApiServer::start().await.unwrap();
    seed(&server, 6);
    let core: kube::Api<CoreEvent> = kube::Api::all(server.client());
    let list = core.list(&ListParams::default().limit(4)).await.unwrap();
    assert_eq!(list.items.len(), 4);
    assert!(list.metadata.continue_.is_some());
    let events: kube::Api<EventsEvent> = kube::Api::namespaced(server.client(), "a");
    let list = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 3);
    assert!(
        list.items
            .iter()
            .all(|e| e.note.as_deref().unwrap().starts_with("Started"))
    );

    let stream = events
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap();
    futures::pin_mut!(stream);
    server
        .create("a", core_event("a", "new", "Killing"))
        .unwrap();
    let mut added = 0;
    while let Some(ev) = stream.next().await {
        if let WatchEvent::Added(e) = ev.unwrap() {
            added += 1;
            if e.metadata.name.as_deref() == Some("new") {
                break;
            }
        }
    }
    assert_eq!(added, 4, "3 current objects, then the new one");
}
