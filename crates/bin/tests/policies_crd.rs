//! `kev run --policies crd` against the fake API server, delivering to a local webhook:
//! policies become routes, change and stop live in one running kev (never restarted),
//! invalid ones are refused with the field's path and a Warning event, and the status
//! counters reach the API server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::post;
use kev_daemon::policy::{ConditionStatus, EventPolicy, EventPolicyStatus};
use kev_tests::fake_api::{FakeApiServer, FakeConfig, SECRETS, core_event};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// What the webhook got: (path, event name, authorization header).
type Received = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

struct Hook {
    url: String,
    received: Received,
}

impl Hook {
    async fn start() -> Self {
        let received = Received::default();
        let app = Router::new()
            .route(
                "/{path}",
                post(
                    |State(r): State<Received>,
                     UrlPath(path): UrlPath<String>,
                     headers: HeaderMap,
                     body: String| async move {
                        let event: Value = serde_json::from_str(&body).unwrap();
                        let auth = headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned());
                        r.lock().unwrap().push((
                            path,
                            event["name"].as_str().unwrap().to_owned(),
                            auth,
                        ));
                    },
                ),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// Event names delivered to `/{path}`, in order.
    fn names(&self, path: &str) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, n, _)| n.clone())
            .collect()
    }

    fn auth(&self, path: &str) -> Vec<Option<String>> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(.., a)| a.clone())
            .collect()
    }
}

/// A running `kev run --policies crd`, killed when dropped.
struct Kev(Child);

impl Drop for Kev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_kev(dir: &Path, server: &FakeApiServer) -> Kev {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters: [{{name: fake, cluster: {{server: '{}'}}}}]\n\
             users: [{{name: u, user: {{}}}}]\n\
             contexts: [{{name: fake, context: {{cluster: fake, user: u}}}}]\n",
            server.url()
        ),
    )
    .unwrap();
    let config = dir.join("kev.yaml");
    std::fs::write(
        &config,
        format!(
            "source: {{type: kube, kubeconfig: '{}', backoff_initial: 20ms, backoff_max: 200ms}}\n\
             store: {{type: memory}}\n\
             server: {{enabled: false, api_listen: 'off'}}\n\
             policies: {{status_interval: 300ms, secret_refresh: 300ms}}\n",
            kubeconfig.display()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args([
            "run",
            "--policies",
            "crd",
            "--config",
            config.to_str().unwrap(),
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Kev(child)
}

async fn fast_server() -> FakeApiServer {
    FakeApiServer::start_with(FakeConfig {
        bookmark_interval: Duration::from_millis(250),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// Polls `check` every 50 ms until it yields a value, for at most 20 s.
/// The fake API server, a webhook, a running kev (with its store directory; both go
/// when the last element is dropped) and the EventPolicy API of `default`.
async fn start() -> (
    FakeApiServer,
    Hook,
    Api<EventPolicy>,
    (Kev, tempfile::TempDir),
) {
    let server = fast_server().await;
    let hook = Hook::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kev = start_kev(dir.path(), &server);
    let api: Api<EventPolicy> = Api::namespaced(server.client(), "default");
    (server, hook, api, (kev, dir))
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn warning(server: &FakeApiServer, name: &str, reason: &str) {
    let mut event = core_event("default", name, reason);
    event["type"] = json!("Warning");
    server.create("default", event).unwrap();
}

fn policy(name: &str, spec: Value) -> EventPolicy {
    EventPolicy::new(name, serde_json::from_value(spec).unwrap())
}

fn spec(hook: &Hook, path: &str, reason: &str) -> Value {
    json!({
        "eventSelectors": [{"type": "Warning", "reason": reason}],
        "target": {"kind": "webhook", "endpoint": format!("{}/{path}", hook.url)},
        "rateLimiting": {"eventsPerMinute": 10000, "cooldownMinutes": 0}
    })
}

async fn status(api: &Api<EventPolicy>, name: &str) -> EventPolicyStatus {
    api.get(name).await.unwrap().status.unwrap_or_default()
}

/// Waits for `Ready` with `status` and `reason` at the policy's current generation.
async fn ready(api: &Api<EventPolicy>, name: &str, want: ConditionStatus, reason: &str) -> String {
    eventually(&format!("{name} Ready={want:?} {reason}"), || async {
        let p = api.get(name).await.unwrap();
        let s = p.status?;
        let c = s.conditions.iter().find(|c| c.r#type == "Ready")?;
        (c.status == want
            && c.reason == reason
            && s.observed_generation == p.metadata.generation
            && c.observed_generation == p.metadata.generation)
            .then(|| c.message.clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_routes_its_events_and_a_changed_selector_replaces_the_route_live() {
    let (server, hook, api, _kev) = start().await;
    api.create(
        &PostParams::default(),
        &policy("crashloops", spec(&hook, "a", "BackOff")),
    )
    .await
    .unwrap();
    ready(&api, "crashloops", ConditionStatus::True, "RouteRunning").await;

    warning(&server, "b1", "BackOff");
    warning(&server, "f1", "Failed");
    warning(&server, "b2", "BackOff");
    eventually("b1, b2 delivered", || async {
        (hook.names("a") == ["b1", "b2"]).then_some(())
    })
    .await;

    // The new selector takes Failed only; the route goes on from its cursor.
    api.patch(
        "crashloops",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"eventSelectors": [{"type": "Warning", "reason": "Failed"}]}}),
        ),
    )
    .await
    .unwrap();
    ready(&api, "crashloops", ConditionStatus::True, "RouteRunning").await;
    warning(&server, "f2", "Failed");
    warning(&server, "b3", "BackOff");
    eventually("f2 delivered", || async {
        hook.names("a").contains(&"f2".to_owned()).then_some(())
    })
    .await;
    // f1 was read (and not selected) before the change: it is not delivered after it;
    // nothing is sent twice.
    assert_eq!(hook.names("a"), ["b1", "b2", "f2"]);

    // The counters reach the API server within the status interval.
    let s = eventually("status counters", || async {
        let s = status(&api, "crashloops").await;
        (s.successful_deliveries == 3).then_some(s)
    })
    .await;
    assert_eq!(s.total_events_processed, 3);
    assert_eq!(s.failed_deliveries, 0);
    assert_eq!(s.rate_limited, 0);
    assert!(s.last_processed_event.is_some());
    assert_eq!(s.observed_generation, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_or_deleting_a_policy_stops_its_deliveries() {
    let (server, hook, api, _kev) = start().await;
    // `all` sees every BackOff: it shows that an event was stored and routed.
    api.create(
        &PostParams::default(),
        &policy("all", spec(&hook, "all", "BackOff")),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &policy("p", spec(&hook, "p", "BackOff")),
    )
    .await
    .unwrap();
    ready(&api, "p", ConditionStatus::True, "RouteRunning").await;
    ready(&api, "all", ConditionStatus::True, "RouteRunning").await;
    warning(&server, "e1", "BackOff");
    eventually("e1 at p", || async {
        (hook.names("p") == ["e1"]).then_some(())
    })
    .await;

    api.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"enabled": false}})),
    )
    .await
    .unwrap();
    ready(&api, "p", ConditionStatus::False, "Disabled").await;
    warning(&server, "e2", "BackOff");
    eventually("e2 at all", || async {
        hook.names("all").contains(&"e2".to_owned()).then_some(())
    })
    .await;

    // Enabled again, the route resumes from its cursor: e2 now, nothing twice.
    api.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"enabled": true}})),
    )
    .await
    .unwrap();
    eventually("e2 at p", || async {
        (hook.names("p") == ["e1", "e2"]).then_some(())
    })
    .await;

    api.delete("p", &DeleteParams::default()).await.unwrap();
    // Deleting is seen by the same watch that carries `all`'s changes: once `all` runs
    // with a new selector, p's deletion has been handled.
    api.patch(
        "all",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"eventSelectors": [{"reason": "BackOff"}]}})),
    )
    .await
    .unwrap();
    ready(&api, "all", ConditionStatus::True, "RouteRunning").await;
    warning(&server, "e3", "BackOff");
    eventually("e3 at all", || async {
        hook.names("all").contains(&"e3".to_owned()).then_some(())
    })
    .await;
    assert_eq!(hook.names("p"), ["e1", "e2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_is_refused_with_its_field_path_and_a_warning_event() {
    let (server, hook, api, _kev) = start().await;
    let mut bad = spec(&hook, "bad", "BackOff");
    bad["eventSelectors"][0]["message"] = json!("(unclosed");
    api.create(&PostParams::default(), &policy("bad", bad))
        .await
        .unwrap();
    let message = ready(&api, "bad", ConditionStatus::False, "InvalidPolicy").await;
    assert!(
        message.starts_with("spec.eventSelectors[0].message: invalid regex"),
        "{message}"
    );
    let warning_event = eventually("a Warning event about the policy", || async {
        server.live().into_iter().find(|e| {
            e.core["involvedObject"]["kind"] == "EventPolicy"
                && e.core["involvedObject"]["name"] == "bad"
        })
    })
    .await;
    assert_eq!(warning_event.core["type"], "Warning");
    assert_eq!(warning_event.core["reason"], "InvalidPolicy");
    assert!(
        warning_event.core["message"]
            .as_str()
            .unwrap()
            .contains("spec.eventSelectors[0].message"),
        "{}",
        warning_event.core
    );

    // Fixed, it runs.
    api.patch(
        "bad",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"eventSelectors": [{"reason": "BackOff", "message": "^BackOff for m"}]}})),
    )
    .await
    .unwrap();
    ready(&api, "bad", ConditionStatus::True, "RouteRunning").await;
    warning(&server, "m1", "BackOff");
    eventually("m1 delivered", || async {
        (hook.names("bad") == ["m1"]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_ref_is_read_through_the_api_and_a_missing_one_is_named() {
    let (server, hook, api, _kev) = start().await;
    let mut with_secret = spec(&hook, "s", "BackOff");
    with_secret["target"]["secretRef"] = json!({"name": "hook-token", "key": "token"});
    api.create(&PostParams::default(), &policy("s", with_secret))
        .await
        .unwrap();
    let message = ready(&api, "s", ConditionStatus::False, "MissingSecret").await;
    assert_eq!(
        message,
        "spec.target.secretRef.name: Secret default/hook-token not found"
    );

    // The Secret appears: the next refresh (policies.secret_refresh) runs the route, with
    // no new generation of the policy.
    server
        .create_object(
            &SECRETS,
            "default",
            // base64 of "s3cret\n"
            json!({"metadata": {"name": "hook-token"}, "data": {"token": "czNjcmV0Cg=="}}),
        )
        .unwrap();
    ready(&api, "s", ConditionStatus::True, "RouteRunning").await;
    warning(&server, "t1", "BackOff");
    eventually("t1 delivered", || async {
        (hook.names("s") == ["t1"]).then_some(())
    })
    .await;
    assert_eq!(hook.auth("s"), [Some("Bearer s3cret".to_owned())]);

    // A rotated token is used from the next refresh on; nothing is delivered twice.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(server.client(), "default");
    secrets
        .patch(
            "hook-token",
            &PatchParams::default(),
            // base64 of "n3w"
            &Patch::Merge(json!({"data": {"token": "bjN3"}})),
        )
        .await
        .unwrap();
    let sent = std::sync::atomic::AtomicUsize::new(0);
    eventually("the new token in use", || async {
        let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        warning(&server, &format!("r{n}"), "BackOff");
        let auth = hook.auth("s");
        (auth.last() == Some(&Some("Bearer n3w".to_owned()))).then_some(())
    })
    .await;
    let names = hook.names("s");
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");

    // The Secret is deleted: the route stops and the policy says why.
    secrets
        .delete("hook-token", &Default::default())
        .await
        .unwrap();
    let message = ready(&api, "s", ConditionStatus::False, "MissingSecret").await;
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn policies_without_the_kube_source_are_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args([
            "run",
            "--policies",
            "crd",
            "--source",
            "replay:-",
            "--listen",
            "off",
            "--api-listen",
            "off",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("policies.source")
            && stderr.contains("needs the kube source (source.type: kube)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_held_back_by_rate_limiting_are_counted_in_the_status() {
    let (server, hook, api, _kev) = start().await;
    let mut limited = spec(&hook, "l", "BackOff");
    limited["rateLimiting"] = json!({"eventsPerMinute": 1, "cooldownMinutes": 0});
    api.create(&PostParams::default(), &policy("l", limited))
        .await
        .unwrap();
    ready(&api, "l", ConditionStatus::True, "RouteRunning").await;
    // Three events about one pod with one reason: one token per minute lets one through.
    for name in ["r1", "r2", "r3"] {
        let mut event = core_event("default", name, "BackOff");
        event["type"] = json!("Warning");
        event["involvedObject"]["name"] = json!("same-pod");
        server.create("default", event).unwrap();
    }
    let s = eventually("rateLimited 2", || async {
        let s = status(&api, "l").await;
        (s.rate_limited == 2 && s.successful_deliveries == 1).then_some(s)
    })
    .await;
    assert_eq!(s.total_events_processed, 3);
    assert_eq!(hook.names("l"), ["r1"]);
}
