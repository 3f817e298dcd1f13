//! The fake API server's EventPolicy custom resource (and Secrets), through kube's
//! client as a controller uses them: discovery, CRUD with generation and status rules,
//! resourceVersion conflicts, and list+watch with bookmarks.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::time::Duration;

use futures::StreamExt;
use kev_daemon::policy::{EventPolicy, EventPolicySpec};
use kev_tests::fake_api::{EVENT_POLICIES, FakeApiServer, FakeConfig, SECRETS, core_event};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::{Value, json};

fn spec(reason: &str) -> EventPolicySpec {
    serde_json::from_value(json!({
        "eventSelectors": [{"type": "Warning", "reason": reason}],
        "target": {"kind": "webhook", "endpoint": "http://127.0.0.1:9/hook"}
    }))
    .unwrap()
}

/// Creates EventPolicy `name`, selecting Warning events with `reason`, through `api`.
async fn create(api: &Api<EventPolicy>, name: &str, reason: &str) -> EventPolicy {
    api.create(
        &PostParams::default(),
        &EventPolicy::new(name, spec(reason)),
    )
    .await
    .unwrap()
}

fn rv(p: &EventPolicy) -> u64 {
    p.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

async fn get_json(server: &FakeApiServer, path: &str) -> Value {
    reqwest::get(format!("{}{path}", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_lists_the_group_the_resource_and_its_status_subresource() {
    let server = FakeApiServer::start().await.unwrap();
    let groups = get_json(&server, "/apis").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"kev.dev") && names.contains(&"events.k8s.io"),
        "{names:?}"
    );
    let list = get_json(&server, "/apis/kev.dev/v1alpha1").await;
    assert_eq!(list["kind"], "APIResourceList");
    let resources: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["eventpolicies", "eventpolicies/status"]);
    let core = get_json(&server, "/api/v1").await;
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "secrets")
    );

    // kube's own discovery finds the kind.
    let discovery = kube::Discovery::new(server.client()).run().await.unwrap();
    let group = discovery.get("kev.dev").expect("kev.dev discovered");
    let (resource, caps) = group.recommended_kind("EventPolicy").unwrap();
    assert_eq!(resource.plural, "eventpolicies");
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural.ends_with("status")),
        "{:?}",
        caps.subresources
    );
}

#[tokio::test]
async fn create_get_list_delete_with_generation_one_and_status_dropped() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "team-a");
    let mut policy = EventPolicy::new("crashloops", spec("BackOff"));
    policy.status = Some(Default::default());
    policy.status.as_mut().unwrap().total_events_processed = 7;
    let created = api.create(&PostParams::default(), &policy).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.metadata.namespace.as_deref(), Some("team-a"));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert!(created.status.is_none(), "a create ignores .status");

    let again = api
        .create(&PostParams::default(), &policy)
        .await
        .unwrap_err();
    assert!(
        matches!(&again, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{again}"
    );

    Api::<EventPolicy>::namespaced(server.client(), "team-b")
        .create(
            &PostParams::default(),
            &EventPolicy::new("other", spec("Failed")),
        )
        .await
        .unwrap();
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let all: Api<EventPolicy> = Api::all(server.client());
    let listed = all.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(
        listed
            .metadata
            .resource_version
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= rv(&created)
    );

    assert_eq!(api.get("crashloops").await.unwrap(), created);
    api.delete("crashloops", &DeleteParams::default())
        .await
        .unwrap();
    let gone = api.get("crashloops").await.unwrap_err();
    assert!(
        matches!(&gone, kube::Error::Api(s) if s.code == 404 && s.message == "eventpolicies.kev.dev \"crashloops\" not found"),
        "{gone}"
    );
}

#[tokio::test]
async fn generation_moves_with_the_spec_only_and_stale_puts_conflict() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    let created = create(&api, "p", "BackOff").await;

    // A label: new resourceVersion, same generation.
    let mut labelled = created.clone();
    labelled.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
    let labelled = api
        .replace("p", &PostParams::default(), &labelled)
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    assert!(rv(&labelled) > rv(&created));

    // The old resourceVersion is stale now.
    let mut stale = created.clone();
    stale.spec = spec("Failed");
    let err = api
        .replace("p", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"),
        "{err}"
    );

    // A spec change with the current resourceVersion; its .status is ignored.
    let mut changed = labelled.clone();
    changed.spec = spec("Failed");
    changed.status = Some(Default::default());
    changed.status.as_mut().unwrap().rate_limited = 3;
    let changed = api
        .replace("p", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    assert!(changed.status.is_none());

    // A merge patch of the spec, without resourceVersion: generation 3.
    let disable = || async {
        let patch = Patch::Merge(json!({"spec": {"enabled": false}}));
        api.patch("p", &PatchParams::default(), &patch).await
    };
    let patched = disable().await.unwrap();
    assert_eq!(patched.metadata.generation, Some(3));
    assert!(!patched.spec.enabled);

    // The same write again changes nothing and keeps the resourceVersion.
    let same = disable().await.unwrap();
    assert_eq!(rv(&same), rv(&patched));

    // JSON patch is not supported by the fake: 415, not a silent success.
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/apis/kev.dev/v1alpha1/namespaces/default/eventpolicies/p",
            server.url()
        ))
        .header("content-type", "application/json-patch+json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn the_status_subresource_changes_only_status() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    let created = create(&api, "p", "BackOff").await;
    let patch = json!({
        "spec": {"enabled": false},
        "metadata": {"labels": {"sneaky": "yes"}},
        "status": {"totalEventsProcessed": 5, "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Valid", "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}
    });
    let patched = api
        .patch_status("p", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref().unwrap().total_events_processed, 5);
    assert!(patched.spec.enabled, "a status write leaves the spec");
    assert!(patched.metadata.labels.is_none(), "and the metadata");
    assert_eq!(patched.metadata.generation, Some(1));
    assert!(rv(&patched) > rv(&created));

    let got = api.get_status("p").await.unwrap();
    assert_eq!(got, patched);

    // PUT /status with a stale resourceVersion conflicts; with the current one it wins.
    let mut stale = created.clone();
    stale.status = Some(Default::default());
    let err = api
        .replace_status("p", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409),
        "{err}"
    );
    let mut current = patched.clone();
    current.status.as_mut().unwrap().failed_deliveries = 2;
    current.spec = spec("Other");
    let replaced = api
        .replace_status("p", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(replaced.status.unwrap().failed_deliveries, 2);
    assert_eq!(replaced.spec, spec("BackOff"));
    assert_eq!(replaced.metadata.generation, Some(1));
}

#[tokio::test]
async fn resource_versions_come_from_the_one_counter_shared_with_events() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    let first = create(&api, "a", "X").await;
    let event = server
        .create("default", core_event("default", "e1", "Started"))
        .unwrap();
    let second = create(&api, "b", "X").await;
    assert!(rv(&first) < event.rv && event.rv < rv(&second));
    assert_eq!(server.resource_version(), rv(&second));
}

#[tokio::test]
async fn watch_streams_changes_after_a_list_and_bookmarks_when_idle() {
    let server = FakeApiServer::start_with(FakeConfig {
        bookmark_interval: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    create(&api, "before", "X").await;
    // Another namespace is not seen by a namespaced watch.
    Api::<EventPolicy>::namespaced(server.client(), "elsewhere")
        .create(
            &PostParams::default(),
            &EventPolicy::new("hidden", spec("X")),
        )
        .await
        .unwrap();
    let listed = api.list(&ListParams::default()).await.unwrap();
    let from = listed.metadata.resource_version.unwrap();
    let mut stream = api
        .watch(
            &WatchParams {
                bookmarks: true,
                ..WatchParams::default()
            }
            .timeout(10),
            &from,
        )
        .await
        .unwrap()
        .boxed();

    let created = create(&api, "p", "X").await;
    api.patch_status(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"rateLimited": 1}})),
    )
    .await
    .unwrap();
    api.delete("p", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 4 {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("watch event in time")
            .unwrap()
            .unwrap();
        match event {
            WatchEvent::Added(p) => seen.push(format!("ADDED {}", p.metadata.name.unwrap())),
            WatchEvent::Modified(p) => seen.push(format!(
                "MODIFIED {} {}",
                p.metadata.name.unwrap(),
                p.status.unwrap().rate_limited
            )),
            WatchEvent::Deleted(p) => {
                assert!(rv(&p) > rv(&created));
                seen.push(format!("DELETED {}", p.metadata.name.unwrap()));
            }
            WatchEvent::Bookmark(b) => {
                let at: u64 = b.metadata.resource_version.parse().unwrap();
                assert!(at <= server.resource_version());
                seen.push("BOOKMARK".into());
            }
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    let events: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "BOOKMARK")
        .collect();
    assert_eq!(events, ["ADDED p", "MODIFIED p 1", "DELETED p"]);
    // Idle now: a bookmark comes.
    let bookmark = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a bookmark while idle")
        .unwrap()
        .unwrap();
    assert!(matches!(bookmark, WatchEvent::Bookmark(_)), "{bookmark:?}");
}

#[tokio::test]
async fn kube_runtime_watcher_sees_the_initial_list_and_later_changes() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<EventPolicy> = Api::all(server.client());
    create(
        &Api::<EventPolicy>::namespaced(server.client(), "a"),
        "one",
        "X",
    )
    .await;
    let mut stream = kube::runtime::watcher(api, kube::runtime::watcher::Config::default()).boxed();
    let mut names = Vec::new();
    let mut created_second = false;
    while names.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("watcher event")
            .unwrap()
            .unwrap();
        match event {
            kube::runtime::watcher::Event::InitApply(p)
            | kube::runtime::watcher::Event::Apply(p) => {
                names.push(p.metadata.name.unwrap());
            }
            kube::runtime::watcher::Event::InitDone if !created_second => {
                created_second = true;
                Api::<EventPolicy>::namespaced(server.client(), "b")
                    .create(&PostParams::default(), &EventPolicy::new("two", spec("X")))
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(names, ["one", "two"]);
}

#[tokio::test]
async fn secrets_are_served_for_secret_refs() {
    let server = FakeApiServer::start().await.unwrap();
    server
        .create_object(
            &SECRETS,
            "team-a",
            json!({"metadata": {"name": "hook-token"}, "data": {"token": "c2VjcmV0"}}),
        )
        .unwrap();
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(server.client(), "team-a");
    let secret = api.get("hook-token").await.unwrap();
    assert_eq!(secret.data.unwrap()["token"].0, b"secret");
    assert!(secret.metadata.generation.is_none());
    let err = api.get("missing").await.unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 404 && s.message == "secrets \"missing\" not found"),
        "{err}"
    );
    assert!(
        server
            .object(&EVENT_POLICIES, "team-a", "hook-token")
            .is_none()
    );
}

#[tokio::test]
async fn objects_posted_without_type_meta_get_it_and_are_listed() {
    let server = FakeApiServer::start().await.unwrap();
    let url = format!(
        "{}/apis/kev.dev/v1alpha1/namespaces/default/eventpolicies",
        server.url()
    );
    let body =
        json!({"metadata": {"name": "bare"}, "spec": serde_json::to_value(spec("X")).unwrap()});
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (created["apiVersion"].as_str(), created["kind"].as_str()),
        (Some("kev.dev/v1alpha1"), Some("EventPolicy"))
    );
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    // A wrong kind is refused.
    let wrong = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "w"}});
    let response = reqwest::Client::new()
        .post(&url)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
