//! The fake API server's Leases: discovery, create/get/list/replace/delete through kube's
//! typed client, and the exact Status answers of kube-apiserver (409 AlreadyExists,
//! 409 Conflict on a stale resourceVersion, 404, 422), with one resourceVersion counter.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kev_tests::fake_api::{FakeApiServer, core_event};
use kube::Api;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use serde_json::{Value, json};

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(jiff::Timestamp::now())),
            renew_time: Some(MicroTime(jiff::Timestamp::now())),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    }
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_lists_the_coordination_group_and_its_leases_resource() {
    let server = FakeApiServer::start().await.unwrap();
    let groups: Value = reqwest::get(format!("{}/apis", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(names.contains(&"coordination.k8s.io"), "{names:?}");
    let resources: Value = reqwest::get(format!("{}/apis/coordination.k8s.io/v1", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resources["kind"], "APIResourceList");
    assert_eq!(resources["groupVersion"], "coordination.k8s.io/v1");
    let leases = &resources["resources"][0];
    assert_eq!(leases["name"], "leases");
    assert_eq!(leases["namespaced"], true);
    assert!(
        leases["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("update"))
    );
    // kube's discovery agrees.
    let discovery = kube::Discovery::new(server.client())
        .filter(&["coordination.k8s.io"])
        .run()
        .await
        .unwrap();
    assert!(discovery.has_group("coordination.k8s.io"));
}

#[tokio::test]
async fn create_get_replace_list_delete_with_one_resource_version_counter() {
    let server = FakeApiServer::start().await.unwrap();
    server
        .create("kev", core_event("kev", "e1", "Started"))
        .unwrap();
    let before = server.resource_version();
    let api: Api<Lease> = Api::namespaced(server.client(), "kev");
    let created = api
        .create(&PostParams::default(), &lease("kev", "a"))
        .await
        .unwrap();
    let rv1: u64 = created
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rv1, before + 1, "Leases and Events share the counter");
    assert!(created.metadata.uid.is_some());
    assert_eq!(created.metadata.namespace.as_deref(), Some("kev"));

    let mut got = api.get("kev").await.unwrap();
    assert_eq!(
        got.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("a")
    );
    got.spec.as_mut().unwrap().holder_identity = Some("b".into());
    got.spec.as_mut().unwrap().lease_transitions = Some(1);
    let replaced = api
        .replace("kev", &PostParams::default(), &got)
        .await
        .unwrap();
    let rv2: u64 = replaced
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    assert_eq!(replaced.metadata.uid, created.metadata.uid, "uid is kept");
    // An event written afterwards gets a later resourceVersion than the Lease.
    let event = server
        .create("kev", core_event("kev", "e2", "Started"))
        .unwrap();
    assert!(event.rv > rv2);

    let other: Api<Lease> = Api::namespaced(server.client(), "other");
    other
        .create(&PostParams::default(), &lease("x", "c"))
        .await
        .unwrap();
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let all: Api<Lease> = Api::all(server.client());
    let everything = all.list(&ListParams::default()).await.unwrap();
    assert_eq!(everything.items.len(), 2);

    api.delete("kev", &DeleteParams::default()).await.unwrap();
    let gone = api_error(api.get("kev").await.unwrap_err());
    assert_eq!(gone.code, 404);
    assert_eq!(gone.message, "leases.coordination.k8s.io \"kev\" not found");
    let holders: Vec<Option<String>> = server
        .lease_writes()
        .into_iter()
        .filter(|w| w.name == "kev")
        .map(|w| w.holder)
        .collect();
    assert_eq!(holders, vec![Some("a".into()), Some("b".into()), None]);
}

#[tokio::test]
async fn a_second_create_is_already_exists() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Lease> = Api::namespaced(server.client(), "kev");
    api.create(&PostParams::default(), &lease("kev", "a"))
        .await
        .unwrap();
    let e = api_error(
        api.create(&PostParams::default(), &lease("kev", "b"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "AlreadyExists");
    assert_eq!(
        e.message,
        "leases.coordination.k8s.io \"kev\" already exists"
    );
    assert_eq!(
        server.lease("kev", "kev").unwrap()["spec"]["holderIdentity"],
        "a",
        "the first holder stays"
    );
}

#[tokio::test]
async fn a_replace_with_a_stale_resource_version_is_a_conflict() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Lease> = Api::namespaced(server.client(), "kev");
    let first = api
        .create(&PostParams::default(), &lease("kev", "a"))
        .await
        .unwrap();
    // Two candidates read the same version; the first write wins, the second conflicts.
    let mut by_b = first.clone();
    by_b.spec.as_mut().unwrap().holder_identity = Some("b".into());
    let mut by_c = first.clone();
    by_c.spec.as_mut().unwrap().holder_identity = Some("c".into());
    api.replace("kev", &PostParams::default(), &by_b)
        .await
        .unwrap();
    let e = api_error(
        api.replace("kev", &PostParams::default(), &by_c)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"kev\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let stored = server.lease("kev", "kev").unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "b");

    // Without a resourceVersion the update is unconditional, as for the real Lease strategy.
    let mut blind = lease("kev", "d");
    blind.metadata.resource_version = None;
    api.replace("kev", &PostParams::default(), &blind)
        .await
        .unwrap();
    assert_eq!(
        server.lease("kev", "kev").unwrap()["spec"]["holderIdentity"],
        "d"
    );
}

#[tokio::test]
async fn replace_of_a_missing_lease_and_bad_bodies_are_refused() {
    let server = FakeApiServer::start().await.unwrap();
    let api: Api<Lease> = Api::namespaced(server.client(), "kev");
    let e = api_error(
        api.replace("kev", &PostParams::default(), &lease("kev", "a"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 404, "no create on update");

    let mut bad = lease("kev", "a");
    bad.spec.as_mut().unwrap().lease_duration_seconds = Some(0);
    let e = api_error(api.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "Lease.coordination.k8s.io \"kev\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    );

    api.create(&PostParams::default(), &lease("kev", "a"))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/apis/coordination.k8s.io/v1/namespaces/kev/leases/kev",
        server.url()
    );
    let wrong_name = http
        .put(&url)
        .json(&json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "other"}, "spec": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_name.status(), 400);
    let body: Value = wrong_name.json().await.unwrap();
    assert_eq!(
        body["message"],
        "the name of the object (other) does not match the name on the URL (kev)"
    );
    let not_json = http.put(&url).body("{").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_kind = http
        .post(format!(
            "{}/apis/coordination.k8s.io/v1/namespaces/kev/leases",
            server.url()
        ))
        .json(&json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_kind.status(), 400);
}
