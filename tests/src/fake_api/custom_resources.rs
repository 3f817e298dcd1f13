//! [`ResourceKind`]: plain JSON objects served the way kube-apiserver serves a custom
//! resource (EventPolicy, `kev.dev/v1alpha1`, with the status subresource) or a simple
//! core object (Secret): discovery, list, watch, GET, POST, PUT, merge PATCH, DELETE and
//! `/status`.
//!
//! The rules followed, as the real server applies them to a CRD with
//! `subresources.status`:
//! - resourceVersions come from the server's one counter (shared with Events);
//! - `metadata.generation` starts at 1 and grows only when something outside
//!   `metadata` and `status` changes;
//! - a write to the main resource keeps the stored `.status` (and a create drops it);
//!   a write to `/status` changes only `.status`;
//! - PUT with a stale `metadata.resourceVersion` is a 409 Conflict, PUT without one is
//!   an unconditional update; a write that changes nothing keeps the resourceVersion and
//!   sends no watch event;
//! - PATCH takes `application/merge-patch+json`; JSON patch, strategic merge patch
//!   (which custom resources do not support) and apply patch are 415.
//!
//! Not implemented here: the CRD's OpenAPI schema (objects are stored as given),
//! `limit`/`continue` (a list is one page, which the API allows), label and field
//! selectors (400), compaction (a watch may start from any resourceVersion),
//! `generateName`, finalizers and graceful deletion.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes as AxumBytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch as notify};
use tokio::time::Instant;

use super::store::{merge_patch, now_rfc3339};
use super::{FakeApiServer, Shared, status};

/// One kind of object this module serves.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group; empty for the core group (`/api/v1`).
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub short_names: &'static [&'static str],
    /// Served with the status subresource (`{plural}/status`).
    pub status_subresource: bool,
    /// Keeps `metadata.generation` (custom resources do; Secrets do not).
    pub generation: bool,
}

/// `kev.dev/v1alpha1` `EventPolicy`, namespaced, with the status subresource.
pub const EVENT_POLICIES: ResourceKind = ResourceKind {
    group: "kev.dev",
    version: "v1alpha1",
    plural: "eventpolicies",
    singular: "eventpolicy",
    kind: "EventPolicy",
    short_names: &["evp"],
    status_subresource: true,
    generation: true,
};

/// core/v1 `Secret`, so that a policy's `secretRef` can be read.
pub const SECRETS: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "secrets",
    singular: "secret",
    kind: "Secret",
    short_names: &[],
    status_subresource: false,
    generation: false,
};

/// A workload kind of `group`/v1 (namespaced, no generation kept, no status subresource),
/// for the kube source's owner walk.
const fn workload(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
) -> ResourceKind {
    ResourceKind {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        short_names: &[],
        status_subresource: false,
        generation: false,
    }
}

pub const REPLICA_SETS: ResourceKind = workload("apps", "replicasets", "replicaset", "ReplicaSet");
pub const DEPLOYMENTS: ResourceKind = workload("apps", "deployments", "deployment", "Deployment");
pub const STATEFUL_SETS: ResourceKind =
    workload("apps", "statefulsets", "statefulset", "StatefulSet");
pub const DAEMON_SETS: ResourceKind = workload("apps", "daemonsets", "daemonset", "DaemonSet");
pub const JOBS: ResourceKind = workload("batch", "jobs", "job", "Job");
pub const CRON_JOBS: ResourceKind = workload("batch", "cronjobs", "cronjob", "CronJob");

const KINDS: [&ResourceKind; 8] = [
    &EVENT_POLICIES,
    &SECRETS,
    &REPLICA_SETS,
    &DEPLOYMENTS,
    &STATEFUL_SETS,
    &DAEMON_SETS,
    &JOBS,
    &CRON_JOBS,
];

impl ResourceKind {
    /// `kev.dev/v1alpha1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/apis/kev.dev/v1alpha1` or `/api/v1`.
    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// `eventpolicies.kev.dev` or `secrets`, as error messages name the resource.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The `resources` entries of this kind in an `APIResourceList`.
    fn discovery(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "name": self.plural, "singularName": self.singular, "namespaced": true,
            "kind": self.kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": self.short_names,
        })];
        if self.status_subresource {
            out.push(json!({
                "name": format!("{}/status", self.plural), "singularName": "", "namespaced": true,
                "kind": self.kind, "verbs": ["get", "patch", "update"],
            }));
        }
        if self.group == EVENT_POLICIES.group {
            out[0]["categories"] = json!(["kev"]);
        }
        out
    }
}

/// The `/api/v1` resources this module adds to the Events server's list.
pub(super) fn core_resources() -> Vec<Value> {
    SECRETS.discovery()
}

/// The `APIGroup` entries for `/apis`.
pub(super) fn groups() -> Vec<Value> {
    vec![group_value(&EVENT_POLICIES)]
}

fn group_value(kind: &ResourceKind) -> Value {
    let gv = json!({"groupVersion": kind.api_version(), "version": kind.version});
    json!({"name": kind.group, "versions": [gv], "preferredVersion": gv})
}

/// One write, as watches replay it.
#[derive(Debug, Clone)]
struct Entry {
    rv: u64,
    kind: &'static ResourceKind,
    change: &'static str,
    object: Arc<Value>,
}

#[derive(Debug, Default)]
struct Stored {
    /// (plural, namespace, name) → the stored object, type meta included.
    objects: BTreeMap<(&'static str, String, String), Arc<Value>>,
    log: Vec<Entry>,
    next_uid: u64,
}

/// The objects of every [`ResourceKind`], kept in [`Shared`].
#[derive(Debug)]
pub(crate) struct Objects {
    state: Mutex<Stored>,
    /// The newest resourceVersion written here; watches wait on it.
    notify: notify::Sender<u64>,
}

impl Default for Objects {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            notify: notify::channel(0).0,
        }
    }
}

impl Objects {
    fn lock(&self) -> MutexGuard<'_, Stored> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A failed request: the `Status` to answer with.
type Failure = Value;

fn fail(code: u16, reason: &str, message: &str, kind: &ResourceKind, name: &str) -> Failure {
    status::failure(
        code,
        reason,
        message,
        Some(json!({"name": name, "group": kind.group, "kind": kind.plural})),
    )
}

fn not_found(kind: &ResourceKind, name: &str) -> Failure {
    fail(
        404,
        "NotFound",
        &format!("{} {name:?} not found", kind.qualified()),
        kind,
        name,
    )
}

fn conflict(kind: &ResourceKind, name: &str) -> Failure {
    fail(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            kind.qualified()
        ),
        kind,
        name,
    )
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Main,
    Status,
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Everything but `metadata` and `status`: a change here is a new generation.
fn desired(object: &Value) -> Value {
    let mut v = object.clone();
    if let Value::Object(map) = &mut v {
        map.remove("metadata");
        map.remove("status");
    }
    v
}

impl Shared {
    /// Takes the next resourceVersion of the server's one counter.
    fn next_rv(&self) -> u64 {
        self.write().bump()
    }

    fn create_object(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        mut object: Value,
    ) -> Result<Arc<Value>, Failure> {
        check_type_meta(kind, &object)?;
        let name = text(&object, "/metadata/name").to_owned();
        if name.is_empty() {
            return Err(status::failure(
                422,
                "Invalid",
                &format!(
                    "{}.{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    kind.kind,
                    if kind.group.is_empty() {
                        ""
                    } else {
                        kind.group
                    }
                ),
                None,
            ));
        }
        let body_ns = text(&object, "/metadata/namespace");
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut state = self.custom.lock();
        let key = (kind.plural, namespace.to_owned(), name.clone());
        if state.objects.contains_key(&key) {
            return Err(fail(
                409,
                "AlreadyExists",
                &format!("{} {name:?} already exists", kind.qualified()),
                kind,
                &name,
            ));
        }
        if kind.status_subresource
            && let Value::Object(map) = &mut object
        {
            map.remove("status");
        }
        state.next_uid += 1;
        let rv = self.next_rv();
        object["apiVersion"] = Value::from(kind.api_version());
        object["kind"] = Value::from(kind.kind);
        let meta = &mut object["metadata"];
        meta["namespace"] = Value::from(namespace);
        meta["uid"] = Value::from(format!("00000000-0000-4000-9000-{:012x}", state.next_uid));
        meta["resourceVersion"] = Value::from(rv.to_string());
        meta["creationTimestamp"] = Value::from(now_rfc3339());
        if kind.generation {
            meta["generation"] = Value::from(1);
        }
        let object = Arc::new(object);
        state.objects.insert(key, Arc::clone(&object));
        self.custom
            .commit(&mut state, rv, kind, "ADDED", Arc::clone(&object));
        Ok(object)
    }

    /// Replaces `part` of the stored object with the same part of `new`; checks a
    /// `metadata.resourceVersion` given in `new`.
    fn update_object(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        part: Part,
        new: impl FnOnce(&Value) -> Result<Value, Failure>,
    ) -> Result<Arc<Value>, Failure> {
        let mut state = self.custom.lock();
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let current = state
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(kind, name))?;
        let new = new(&current)?;
        check_type_meta(kind, &new)?;
        for (field, got) in [
            ("name", text(&new, "/metadata/name")),
            ("namespace", text(&new, "/metadata/namespace")),
        ] {
            let want = if field == "name" { name } else { namespace };
            if !got.is_empty() && got != want {
                return Err(status::bad_request(&format!(
                    "the {field} of the object ({got}) does not match the {field} on the URL ({want})"
                )));
            }
        }
        let given_rv = text(&new, "/metadata/resourceVersion");
        if !given_rv.is_empty() && given_rv != text(&current, "/metadata/resourceVersion") {
            return Err(conflict(kind, name));
        }
        let mut next = match part {
            Part::Main => {
                let mut next = new;
                if kind.status_subresource {
                    match current.get("status") {
                        Some(s) => next["status"] = s.clone(),
                        None => {
                            if let Value::Object(map) = &mut next {
                                map.remove("status");
                            }
                        }
                    }
                }
                next
            }
            Part::Status => {
                let mut next = (*current).clone();
                match new.get("status") {
                    Some(s) => next["status"] = s.clone(),
                    None => {
                        if let Value::Object(map) = &mut next {
                            map.remove("status");
                        }
                    }
                }
                next
            }
        };
        // What the server owns stays as stored.
        next["apiVersion"] = Value::from(kind.api_version());
        next["kind"] = Value::from(kind.kind);
        let meta = &current["metadata"];
        if !next["metadata"].is_object() {
            next["metadata"] = json!({});
        }
        for owned in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "resourceVersion",
        ] {
            match meta.get(owned) {
                Some(v) => next["metadata"][owned] = v.clone(),
                None => {
                    if let Some(m) = next["metadata"].as_object_mut() {
                        m.remove(owned);
                    }
                }
            }
        }
        if next == *current {
            return Ok(current);
        }
        if kind.generation && desired(&next) != desired(&current) {
            let generation = meta["generation"].as_i64().unwrap_or(0) + 1;
            next["metadata"]["generation"] = Value::from(generation);
        }
        let rv = self.next_rv();
        next["metadata"]["resourceVersion"] = Value::from(rv.to_string());
        let next = Arc::new(next);
        state.objects.insert(key, Arc::clone(&next));
        self.custom
            .commit(&mut state, rv, kind, "MODIFIED", Arc::clone(&next));
        Ok(next)
    }

    fn delete_object(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, Failure> {
        let mut state = self.custom.lock();
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let current = state
            .objects
            .remove(&key)
            .ok_or_else(|| not_found(kind, name))?;
        let rv = self.next_rv();
        let mut last = (*current).clone();
        last["metadata"]["resourceVersion"] = Value::from(rv.to_string());
        let last = Arc::new(last);
        self.custom
            .commit(&mut state, rv, kind, "DELETED", Arc::clone(&last));
        Ok(last)
    }

    fn get_object(&self, kind: &ResourceKind, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.custom
            .lock()
            .objects
            .get(&(kind.plural, namespace.to_owned(), name.to_owned()))
            .cloned()
    }
}

impl Objects {
    fn commit(
        &self,
        state: &mut Stored,
        rv: u64,
        kind: &'static ResourceKind,
        change: &'static str,
        object: Arc<Value>,
    ) {
        state.log.push(Entry {
            rv,
            kind,
            change,
            object,
        });
        self.notify.send_replace(rv);
    }
}

fn check_type_meta(kind: &ResourceKind, object: &Value) -> Result<(), Failure> {
    if !object.is_object() {
        return Err(status::bad_request("the body must be a JSON object"));
    }
    let api_version = text(object, "/apiVersion");
    let object_kind = text(object, "/kind");
    let want = kind.api_version();
    if (!api_version.is_empty() && api_version != want)
        || (!object_kind.is_empty() && object_kind != kind.kind)
    {
        return Err(status::bad_request(&format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    Ok(())
}

/// In-process access for tests, next to the HTTP API.
impl FakeApiServer {
    /// Creates an object of `kind` in `namespace` as a POST would.
    pub fn create_object(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, Value> {
        object["apiVersion"] = Value::from(kind.api_version());
        object["kind"] = Value::from(kind.kind);
        self.shared
            .create_object(kind, namespace, object)
            .map(|o| (*o).clone())
    }

    /// Deletes an object as a DELETE would.
    pub fn delete_object(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Value, Value> {
        self.shared
            .delete_object(kind, namespace, name)
            .map(|o| (*o).clone())
    }

    /// The stored object, type meta, metadata and status included.
    pub fn object(&self, kind: &ResourceKind, namespace: &str, name: &str) -> Option<Value> {
        self.shared
            .get_object(kind, namespace, name)
            .map(|o| (*o).clone())
    }
}

type Params = Query<HashMap<String, String>>;
type St = State<Arc<Shared>>;

/// Adds the routes of every [`ResourceKind`] and the `kev.dev` discovery documents.
pub(super) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    let mut router = router
        .route(
            "/apis/kev.dev",
            get(|| async { group_document(&EVENT_POLICIES) }),
        )
        .route(
            "/apis/kev.dev/v1alpha1",
            get(|| async { resource_list(&EVENT_POLICIES) }),
        );
    for kind in KINDS {
        let prefix = kind.prefix();
        let plural = kind.plural;
        router = router
            .route(
                &format!("{prefix}/{plural}"),
                get(move |s: St, q: Params| list_or_watch(s, kind, None, q)),
            )
            .route(
                &format!("{prefix}/namespaces/{{ns}}/{plural}"),
                get(move |s: St, Path(ns): Path<String>, q: Params| {
                    list_or_watch(s, kind, Some(ns), q)
                })
                .post(move |s: St, Path(ns): Path<String>, b: AxumBytes| create(s, kind, ns, b)),
            )
            .route(
                &format!("{prefix}/namespaces/{{ns}}/{plural}/{{name}}"),
                get(move |s: St, Path(p): Path<(String, String)>| get_one(s, kind, p))
                    .put(
                        move |s: St, Path(p): Path<(String, String)>, b: AxumBytes| {
                            put(s, kind, Part::Main, p, b)
                        },
                    )
                    .patch(
                        move |s: St,
                              Path(p): Path<(String, String)>,
                              h: HeaderMap,
                              b: AxumBytes| {
                            patch(s, kind, Part::Main, p, h, b)
                        },
                    )
                    .delete(move |s: St, Path(p): Path<(String, String)>| delete(s, kind, p)),
            );
        if kind.status_subresource {
            router = router.route(
                &format!("{prefix}/namespaces/{{ns}}/{plural}/{{name}}/status"),
                get(move |s: St, Path(p): Path<(String, String)>| get_one(s, kind, p))
                    .put(
                        move |s: St, Path(p): Path<(String, String)>, b: AxumBytes| {
                            put(s, kind, Part::Status, p, b)
                        },
                    )
                    .patch(
                        move |s: St,
                              Path(p): Path<(String, String)>,
                              h: HeaderMap,
                              b: AxumBytes| {
                            patch(s, kind, Part::Status, p, h, b)
                        },
                    ),
            );
        }
    }
    router
}

fn respond(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn respond_result(ok: StatusCode, result: Result<Arc<Value>, Failure>) -> Response {
    match result {
        Ok(object) => respond(ok, &object),
        Err(status) => {
            let code = status["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            respond(code, &status)
        }
    }
}

fn group_document(kind: &ResourceKind) -> Response {
    let mut g = group_value(kind);
    g["kind"] = Value::from("APIGroup");
    g["apiVersion"] = Value::from("v1");
    respond(StatusCode::OK, &g)
}

fn resource_list(kind: &ResourceKind) -> Response {
    respond(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": kind.api_version(), "resources": kind.discovery()}),
    )
}

fn parse(body: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        status::bad_request(&format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}

async fn create(
    State(shared): St,
    kind: &'static ResourceKind,
    ns: String,
    body: AxumBytes,
) -> Response {
    let result = parse(&body).and_then(|object| shared.create_object(kind, &ns, object));
    respond_result(StatusCode::CREATED, result)
}

async fn get_one(
    State(shared): St,
    kind: &'static ResourceKind,
    (ns, name): (String, String),
) -> Response {
    respond_result(
        StatusCode::OK,
        shared
            .get_object(kind, &ns, &name)
            .ok_or_else(|| not_found(kind, &name)),
    )
}

async fn put(
    State(shared): St,
    kind: &'static ResourceKind,
    part: Part,
    (ns, name): (String, String),
    body: AxumBytes,
) -> Response {
    let result =
        parse(&body).and_then(|new| shared.update_object(kind, &ns, &name, part, move |_| Ok(new)));
    respond_result(StatusCode::OK, result)
}

async fn patch(
    State(shared): St,
    kind: &'static ResourceKind,
    part: Part,
    (ns, name): (String, String),
    headers: HeaderMap,
    body: AxumBytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/merge-patch+json" {
        return respond_result(
            StatusCode::OK,
            Err(status::failure(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (the fake API server's only patch type; got {content_type:?})"
                ),
                None,
            )),
        );
    }
    let result = parse(&body).and_then(|doc| {
        shared.update_object(kind, &ns, &name, part, move |current| {
            let mut next = current.clone();
            merge_patch(&mut next, &doc);
            // A resourceVersion in the patch is a precondition; none means "latest".
            if doc.pointer("/metadata/resourceVersion").is_none() {
                next["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
            }
            Ok(next)
        })
    });
    respond_result(StatusCode::OK, result)
}

async fn delete(
    State(shared): St,
    kind: &'static ResourceKind,
    (ns, name): (String, String),
) -> Response {
    respond_result(StatusCode::OK, shared.delete_object(kind, &ns, &name))
}

async fn list_or_watch(
    State(shared): St,
    kind: &'static ResourceKind,
    namespace: Option<String>,
    Query(q): Params,
) -> Response {
    for selector in ["labelSelector", "fieldSelector"] {
        if q.get(selector).is_some_and(|s| !s.is_empty()) {
            return respond_result(
                StatusCode::OK,
                Err(status::bad_request(&format!(
                    "{selector} is not supported for {} by the fake API server",
                    kind.qualified()
                ))),
            );
        }
    }
    let start = match q.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(text) => match text.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return respond_result(
                    StatusCode::OK,
                    Err(status::bad_request(&format!(
                        "invalid resource version: {text:?}"
                    ))),
                );
            }
        },
    };
    if !matches!(q.get("watch").map(String::as_str), Some("true" | "1")) {
        return list(&shared, kind, namespace.as_deref());
    }
    let request = WatchRequest {
        kind,
        namespace,
        start,
        timeout: q
            .get("timeoutSeconds")
            .and_then(|s| s.parse().ok())
            .map_or(Duration::from_secs(1800), Duration::from_secs),
        bookmarks: matches!(
            q.get("allowWatchBookmarks").map(String::as_str),
            Some("true" | "1")
        ),
    };
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(run_watch(shared, request, tx));
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn visible(kind: &ResourceKind, namespace: Option<&str>, object: &Value) -> bool {
    namespace.is_none_or(|ns| text(object, "/metadata/namespace") == ns)
        && text(object, "/kind") == kind.kind
}

fn list(shared: &Shared, kind: &'static ResourceKind, namespace: Option<&str>) -> Response {
    let (items, rv) = {
        let state = shared.custom.lock();
        let items: Vec<Value> = state
            .objects
            .iter()
            .filter(|((plural, ..), o)| *plural == kind.plural && visible(kind, namespace, o))
            .map(|(_, o)| (**o).clone())
            .collect();
        (items, shared.read().resource_version())
    };
    respond(
        StatusCode::OK,
        &json!({"kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    )
}

struct WatchRequest {
    kind: &'static ResourceKind,
    namespace: Option<String>,
    /// None: the current objects as ADDED first.
    start: Option<u64>,
    timeout: Duration,
    bookmarks: bool,
}

fn line(change: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": change, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

async fn run_watch(
    shared: Arc<Shared>,
    req: WatchRequest,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut changes = shared.custom.notify.subscribe();
    let mut kill = shared.kill.subscribe();
    let deadline = Instant::now() + req.timeout;
    let every = shared.config.bookmark_interval;
    let mut next_bookmark = Instant::now() + every;
    let ns = req.namespace.as_deref();
    let mut cursor = match req.start {
        Some(rv) => rv,
        None => {
            let (objects, rv) = {
                let state = shared.custom.lock();
                let objects: Vec<Arc<Value>> = state
                    .objects
                    .iter()
                    .filter(|((plural, ..), o)| {
                        *plural == req.kind.plural && visible(req.kind, ns, o)
                    })
                    .map(|(_, o)| Arc::clone(o))
                    .collect();
                (objects, shared.read().resource_version())
            };
            for o in objects {
                if tx.send(Ok(line("ADDED", &o))).await.is_err() {
                    return;
                }
            }
            rv
        }
    };
    loop {
        let pending: Vec<Entry> = {
            let state = shared.custom.lock();
            let from = state.log.partition_point(|e| e.rv <= cursor);
            state.log[from..].to_vec()
        };
        if let Some(last) = pending.last() {
            cursor = last.rv;
            for e in pending
                .iter()
                .filter(|e| e.kind == req.kind && visible(req.kind, ns, &e.object))
            {
                if tx.send(Ok(line(e.change, &e.object))).await.is_err() {
                    return;
                }
            }
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        if req.bookmarks && now >= next_bookmark {
            next_bookmark = now + every;
            // Under the lock no write is half done: every later one gets a higher rv.
            let rv = {
                let state = shared.custom.lock();
                let pending = state.log.last().is_some_and(|e| e.rv > cursor);
                (!pending).then(|| shared.read().resource_version())
            };
            if let Some(rv) = rv {
                cursor = rv;
                let bookmark = json!({"kind": req.kind.kind, "apiVersion": req.kind.api_version(),
                    "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null}});
                if tx.send(Ok(line("BOOKMARK", &bookmark))).await.is_err() {
                    return;
                }
            }
            continue;
        }
        let wake = if req.bookmarks {
            next_bookmark.min(deadline)
        } else {
            deadline
        };
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = tokio::time::sleep_until(wake) => {}
            _ = kill.changed() => {
                let _ = tx.send(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "fake API server cut the watch",
                ))).await;
                return;
            }
            () = tx.closed() => return,
        }
    }
}
