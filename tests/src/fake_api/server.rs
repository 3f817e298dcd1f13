//! The HTTP side: routes, the connection loop (so connections can be reset), list,
//! watch, create, get, patch and delete handlers, discovery.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes as AxumBytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Shared;
use super::convert::{self, Group};
use super::custom_resources;
use super::selectors::Selector;
use super::status;
use super::store::{WriteError, merge_patch};
use super::watch::{self, WatchRequest, WatchStart};

type Params = Query<HashMap<String, String>>;
type St = State<Arc<Shared>>;

/// Accepts connections until aborted; each connection task ends when the server goes
/// down (its `kill` generation changes), which resets the connection.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let app = router(Arc::clone(&shared));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut kill = shared.kill.subscribe();
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = kill.changed() => {}
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let events = Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route("/api/v1", get(|| async { resources(Group::Core) }))
        .route("/apis/events.k8s.io", get(events_group))
        .route(
            "/apis/events.k8s.io/v1",
            get(|| async { resources(Group::Events) }),
        )
        .route(
            "/api/v1/events",
            get(|s: St, q: Params, h: HeaderMap| list_or_watch(s, Group::Core, None, q, h)),
        )
        .route(
            "/apis/events.k8s.io/v1/events",
            get(|s: St, q: Params, h: HeaderMap| list_or_watch(s, Group::Events, None, q, h)),
        )
        .route(
            "/api/v1/namespaces/{ns}/events",
            get(|s: St, Path(ns): Path<String>, q: Params, h: HeaderMap| {
                list_or_watch(s, Group::Core, Some(ns), q, h)
            })
            .post(|s: St, Path(ns): Path<String>, b: AxumBytes| create(s, Group::Core, ns, b)),
        )
        .route(
            "/apis/events.k8s.io/v1/namespaces/{ns}/events",
            get(|s: St, Path(ns): Path<String>, q: Params, h: HeaderMap| {
                list_or_watch(s, Group::Events, Some(ns), q, h)
            })
            .post(|s: St, Path(ns): Path<String>, b: AxumBytes| create(s, Group::Events, ns, b)),
        )
        .route(
            "/api/v1/namespaces/{ns}/events/{name}",
            get(|s: St, Path(p): Path<(String, String)>| get_one(s, Group::Core, p))
                .patch(
                    |s: St, Path(p): Path<(String, String)>, h: HeaderMap, b: AxumBytes| {
                        patch(s, Group::Core, p, h, b)
                    },
                )
                .delete(|s: St, Path(p): Path<(String, String)>| delete(s, Group::Core, p)),
        )
        .route(
            "/apis/events.k8s.io/v1/namespaces/{ns}/events/{name}",
            get(|s: St, Path(p): Path<(String, String)>| get_one(s, Group::Events, p))
                .patch(
                    |s: St, Path(p): Path<(String, String)>, h: HeaderMap, b: AxumBytes| {
                        patch(s, Group::Events, p, h, b)
                    },
                )
                .delete(|s: St, Path(p): Path<(String, String)>| delete(s, Group::Events, p)),
        );
    custom_resources::routes(events)
        .merge(super::leases::routes())
        .fallback(|| async {
            json_response(
                StatusCode::NOT_FOUND,
                &status::failure(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                    None,
                ),
            )
        })
        .with_state(Arc::clone(&shared))
        .merge(shared.pods.router())
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    bytes_response(code, body.to_string().into_bytes())
}

fn bytes_response(code: StatusCode, body: Vec<u8>) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn status_response(status: &Value) -> Response {
    let code = status["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        status,
    )
}

/// A planned 500/429 answer, if any.
fn injected_error(shared: &Shared) -> Option<Response> {
    let fault = shared.faults.next_http_error()?;
    let (reason, message) = match fault.status {
        429 => (
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        503 => (
            "ServiceUnavailable",
            "The server is currently unable to handle the request",
        ),
        _ => (
            "InternalError",
            "Internal error occurred: injected by the fake API server",
        ),
    };
    let details = fault
        .retry_after_secs
        .map(|s| json!({"retryAfterSeconds": s}));
    let mut response = status_response(&status::failure(fault.status, reason, message, details));
    if let Some(secs) = fault.retry_after_secs
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(response)
}

async fn list_or_watch(
    State(shared): St,
    group: Group,
    namespace: Option<String>,
    Query(q): Params,
    _headers: HeaderMap,
) -> Response {
    if let Some(r) = injected_error(&shared) {
        return r;
    }
    let selector = match Selector::parse(
        group,
        q.get("fieldSelector").map(String::as_str),
        q.get("labelSelector").map(String::as_str),
    ) {
        Ok(s) => s,
        Err(e) => return status_response(&status::bad_request(&e)),
    };
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    if watching {
        start_watch(shared, group, namespace, selector, &q)
    } else {
        list(&shared, group, namespace.as_deref(), &selector, &q)
    }
}

/// A resourceVersion parameter; the error is the 400 Status.
fn parse_rv(text: &str) -> Result<u64, Value> {
    text.parse()
        .map_err(|_| status::bad_request(&format!("invalid resource version: {text:?}")))
}

fn start_watch(
    shared: Arc<Shared>,
    group: Group,
    namespace: Option<String>,
    selector: Selector,
    q: &HashMap<String, String>,
) -> Response {
    let id = shared.watch_ids.fetch_add(1, Ordering::Relaxed) + 1;
    let start = match q.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => WatchStart::Current,
        Some(rv) => match parse_rv(rv) {
            Ok(rv) => WatchStart::After(rv),
            Err(status) => return status_response(&status),
        },
    };
    if shared.faults.take_bare_410() {
        let (rv, horizon) = match start {
            WatchStart::After(rv) => (rv, shared.read().horizon()),
            WatchStart::Current => (0, shared.read().horizon()),
        };
        return status_response(&status::expired(rv, horizon));
    }
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let bookmarks = matches!(
        q.get("allowWatchBookmarks").map(String::as_str),
        Some("true" | "1")
    );
    let req = WatchRequest {
        id,
        group,
        namespace,
        selector,
        start,
        timeout,
        bookmarks,
    };
    let (tx, mut rx) = mpsc::channel::<watch::Chunk>(8);
    tokio::spawn(watch::run(shared, req, tx));
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn list(
    shared: &Shared,
    group: Group,
    namespace: Option<&str>,
    selector: &Selector,
    q: &HashMap<String, String>,
) -> Response {
    shared.list_requests.fetch_add(1, Ordering::Relaxed);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .unwrap_or(usize::MAX);
    let store = shared.read();
    let newest = store.resource_version();
    let (snapshot, start) = if let Some(token) = q.get("continue").filter(|t| !t.is_empty()) {
        let decoded = B64
            .decode(token)
            .ok()
            .and_then(|b| serde_json::from_slice::<ContinueToken>(&b).ok());
        let Some(token) = decoded else {
            return status_response(&status::bad_request(&format!(
                "invalid continue token: {token:?}"
            )));
        };
        if token.rv < store.horizon() {
            return status_response(&status::continue_expired());
        }
        let key = token
            .start
            .split_once('/')
            .map(|(ns, name)| (ns.to_owned(), name.to_owned()));
        (token.rv, key)
    } else {
        let rv = match q.get("resourceVersion").map(String::as_str) {
            None | Some("" | "0") => newest,
            Some(text) => match parse_rv(text) {
                Ok(rv) => rv,
                Err(status) => return status_response(&status),
            },
        };
        let exact = q.get("resourceVersionMatch").map(String::as_str) == Some("Exact");
        if rv > newest {
            return status_response(&status::failure(
                504,
                "Timeout",
                &format!("Too large resource version: {rv}, current: {newest}"),
                Some(
                    json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
                ),
            ));
        }
        if exact && rv < store.horizon() {
            return status_response(&status::expired(rv, store.horizon()));
        }
        (if exact { rv } else { newest }, None)
    };
    let keep = |o: &super::store::Rendered| selector.is_empty() || selector.matches(&o.core);
    let super::store::Page {
        items,
        next,
        remaining,
    } = store.snapshot_page(
        snapshot,
        namespace,
        start.as_ref(),
        limit,
        &keep,
        selector.is_empty(),
    );
    drop(store);

    let mut body = Vec::with_capacity(items.len() * 800 + 256);
    body.extend_from_slice(
        format!(
            "{{\"kind\":\"EventList\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{snapshot}\"",
            group.api_version()
        )
        .as_bytes(),
    );
    if let Some((ns, name)) = next {
        let token = ContinueToken {
            v: "meta.k8s.io/v1".into(),
            rv: snapshot,
            start: format!("{ns}/{name}"),
        };
        let token = B64.encode(serde_json::to_vec(&token).unwrap_or_default());
        body.extend_from_slice(format!(",\"continue\":\"{token}\"").as_bytes());
        if let Some(remaining) = remaining {
            body.extend_from_slice(format!(",\"remainingItemCount\":{remaining}").as_bytes());
        }
    }
    body.extend_from_slice(b"},\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'{');
        body.extend_from_slice(item.body(group));
        shared.record(item);
    }
    body.extend_from_slice(b"]}");
    bytes_response(StatusCode::OK, body)
}

fn write_error(group: Group, e: WriteError) -> Response {
    status_response(&match e {
        WriteError::AlreadyExists(n) => status::already_exists(group, &n),
        WriteError::NotFound(n) => status::not_found(group, &n),
        WriteError::Conflict(n) => status::conflict(group, &n),
        WriteError::Invalid(m) => status::bad_request(&m),
    })
}

/// A JSON request body; the error is the 400 Status.
fn parse_body(body: &[u8]) -> Result<Value, Value> {
    serde_json::from_slice(body).map_err(|e| {
        status::bad_request(&format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}

async fn create(State(shared): St, group: Group, ns: String, body: AxumBytes) -> Response {
    let object = match parse_body(&body) {
        Ok(v) => v,
        Err(status) => return status_response(&status),
    };
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("Event");
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(group.api_version());
    if kind != "Event" || api_version != group.api_version() {
        return status_response(&status::bad_request(&format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            group.api_version()
        )));
    }
    let mut core = match group {
        Group::Core => convert::events_to_core(&convert::core_to_events(&object)),
        Group::Events => convert::events_to_core(&object),
    };
    let body_ns = core["metadata"]["namespace"].as_str().unwrap_or_default();
    if !body_ns.is_empty() && body_ns != ns {
        return status_response(&status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !core["metadata"].is_object() {
        core["metadata"] = json!({});
    }
    core["metadata"]["namespace"] = Value::from(ns);
    convert::default_core(&mut core);
    let errors = convert::validate_create(&core, group);
    let name = core["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !errors.is_empty() {
        return status_response(&status::invalid(group, &name, &errors));
    }
    let created = shared.write().create(core);
    shared.changed();
    match created {
        Ok(o) => bytes_response(StatusCode::CREATED, o.bytes(group).to_vec()),
        Err(e) => write_error(group, e),
    }
}

async fn get_one(State(shared): St, group: Group, (ns, name): (String, String)) -> Response {
    if let Some(r) = injected_error(&shared) {
        return r;
    }
    match shared.read().get(&ns, &name) {
        Some(o) => bytes_response(StatusCode::OK, o.bytes(group).to_vec()),
        None => status_response(&status::not_found(group, &name)),
    }
}

async fn patch(
    State(shared): St,
    group: Group,
    (ns, name): (String, String),
    headers: HeaderMap,
    body: AxumBytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !matches!(
        content_type,
        "application/merge-patch+json" | "application/strategic-merge-patch+json"
    ) {
        return status_response(&status::failure(
            415,
            "UnsupportedMediaType",
            &format!("the fake API server does not support patch type {content_type:?}"),
            None,
        ));
    }
    let patch_doc = match parse_body(&body) {
        Ok(v) => v,
        Err(status) => return status_response(&status),
    };
    let result = {
        let mut store = shared.write();
        let Some(current) = store.get(&ns, &name) else {
            return status_response(&status::not_found(group, &name));
        };
        let mut shown = current.value(group);
        merge_patch(&mut shown, &patch_doc);
        let new_core = match group {
            Group::Core => convert::events_to_core(&convert::core_to_events(&shown)),
            Group::Events => convert::events_to_core(&shown),
        };
        let errors = convert::validate_update(&new_core, &current.core, group);
        if !errors.is_empty() {
            return status_response(&status::invalid(group, &name, &errors));
        }
        store.update(&ns, &name, new_core)
    };
    shared.changed();
    match result {
        Ok(o) => bytes_response(StatusCode::OK, o.bytes(group).to_vec()),
        Err(e) => write_error(group, e),
    }
}

async fn delete(State(shared): St, group: Group, (ns, name): (String, String)) -> Response {
    let result = shared.write().delete(&ns, &name);
    shared.changed();
    match result {
        Ok(o) => bytes_response(StatusCode::OK, o.bytes(group).to_vec()),
        Err(e) => write_error(group, e),
    }
}

async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-kev-fake", "platform": "linux/amd64",
            "goVersion": "go1.24", "compiler": "gc", "buildDate": "2025-01-01T00:00:00Z",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean"}),
    )
}

async fn api_versions() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
    )
}

fn events_group_value() -> Value {
    json!({"name": "events.k8s.io",
        "versions": [{"groupVersion": "events.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "events.k8s.io/v1", "version": "v1"}})
}

async fn api_groups() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1",
            "groups": ([vec![events_group_value(), super::leases::group_value()], custom_resources::groups()].concat())
        }),
    )
}

async fn events_group() -> Response {
    let mut g = events_group_value();
    g["kind"] = Value::from("APIGroup");
    g["apiVersion"] = Value::from("v1");
    json_response(StatusCode::OK, &g)
}

fn resources(group: Group) -> Response {
    let mut list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group.api_version(),
            "resources": [{"name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
                "verbs": ["create", "delete", "get", "list", "patch", "watch"], "shortNames": ["ev"]}]});
    if group == Group::Core
        && let Some(resources) = list["resources"].as_array_mut()
    {
        resources.extend(custom_resources::core_resources());
    }
    json_response(StatusCode::OK, &list)
}
