//! `coordination.k8s.io/v1` Leases for the fake server: discovery, GET, list, POST,
//! PUT with optimistic concurrency and DELETE, as kube-apiserver answers them; what
//! leader election (client-go's `LeaseLock`, kev's `leader` module) needs.
//!
//! resourceVersions come from the server's one counter (Events and Leases share it, as
//! they share etcd's revision). Every write is remembered with the instant it happened
//! ([`LeaseWrite`]), so tests can tell when the holder changed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::Shared;
use super::status;

pub const GROUP: &str = "coordination.k8s.io";
pub const API_VERSION: &str = "coordination.k8s.io/v1";

/// One accepted write of a Lease.
#[derive(Debug, Clone)]
pub struct LeaseWrite {
    pub at: Instant,
    pub namespace: String,
    pub name: String,
    /// `spec.holderIdentity` after the write (`None`: no holder, or deleted).
    pub holder: Option<String>,
    pub resource_version: u64,
    pub deleted: bool,
}

/// The Leases and the log of their writes.
#[derive(Debug, Default)]
pub struct LeaseStore {
    objects: BTreeMap<(String, String), Value>,
    writes: Vec<LeaseWrite>,
}

/// Why a Lease write was refused; rendered as the API server's Status.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LeaseError {
    NotFound(String),
    AlreadyExists(String),
    Conflict(String),
    BadRequest(String),
    Invalid(String, Vec<(String, String)>),
}

impl LeaseError {
    fn status(&self) -> Value {
        let details = |name: &str| json!({"name": name, "group": GROUP, "kind": "leases"});
        match self {
            Self::NotFound(n) => status::failure(
                404,
                "NotFound",
                &format!("leases.{GROUP} {n:?} not found"),
                Some(details(n)),
            ),
            Self::AlreadyExists(n) => status::failure(
                409,
                "AlreadyExists",
                &format!("leases.{GROUP} {n:?} already exists"),
                Some(details(n)),
            ),
            Self::Conflict(n) => status::failure(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on leases.{GROUP} {n:?}: the object has been modified; please apply your changes to the latest version and try again"
                ),
                Some(details(n)),
            ),
            Self::BadRequest(m) => status::bad_request(m),
            Self::Invalid(n, causes) => {
                let rendered: Vec<String> =
                    causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
                let list = if rendered.len() == 1 {
                    rendered[0].clone()
                } else {
                    format!("[{}]", rendered.join(", "))
                };
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f}))
                    .collect();
                status::failure(
                    422,
                    "Invalid",
                    &format!("Lease.{GROUP} {n:?} is invalid: {list}"),
                    Some(json!({"name": n, "group": GROUP, "kind": "Lease", "causes": causes})),
                )
            }
        }
    }

    fn code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::AlreadyExists(_) | Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(..) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl LeaseStore {
    pub fn get(&self, namespace: &str, name: &str) -> Option<Value> {
        self.objects
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    pub fn writes(&self) -> &[LeaseWrite] {
        &self.writes
    }

    fn list(&self, namespace: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn record(&mut self, namespace: &str, name: &str, object: &Value, deleted: bool) {
        let holder = object["spec"]["holderIdentity"]
            .as_str()
            .filter(|h| !h.is_empty() && !deleted)
            .map(str::to_owned);
        let resource_version = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|rv| rv.parse().ok())
            .unwrap_or_default();
        self.writes.push(LeaseWrite {
            at: Instant::now(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            holder,
            resource_version,
            deleted,
        });
    }
}

/// The field checks of `ValidateLeaseSpec` that a client can get wrong.
fn validate(name: &str, object: &Value) -> Result<(), LeaseError> {
    let mut causes = Vec::new();
    let spec = &object["spec"];
    if let Some(d) = spec.get("leaseDurationSeconds").filter(|v| !v.is_null()) {
        match d.as_i64() {
            Some(n) if n > 0 => {}
            _ => causes.push((
                "spec.leaseDurationSeconds".to_owned(),
                format!("Invalid value: {d}: must be greater than 0"),
            )),
        }
    }
    if let Some(t) = spec.get("leaseTransitions").filter(|v| !v.is_null()) {
        match t.as_i64() {
            Some(n) if n >= 0 => {}
            _ => causes.push((
                "spec.leaseTransitions".to_owned(),
                format!("Invalid value: {t}: must be greater than or equal to 0"),
            )),
        }
    }
    for field in ["acquireTime", "renewTime"] {
        if let Some(v) = spec.get(field).filter(|v| !v.is_null())
            && v.as_str()
                .is_none_or(|s| s.parse::<jiff::Timestamp>().is_err())
        {
            causes.push((
                format!("spec.{field}"),
                format!("Invalid value: {v}: not a MicroTime"),
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(LeaseError::Invalid(name.to_owned(), causes))
    }
}

/// The type meta and namespace checks shared by POST and PUT.
fn check_object(object: &Value, namespace: &str) -> Result<(), LeaseError> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("Lease");
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(API_VERSION);
    if kind != "Lease" || api_version != API_VERSION {
        return Err(LeaseError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({API_VERSION})"
        )));
    }
    let body_ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
    if !body_ns.is_empty() && body_ns != namespace {
        return Err(LeaseError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    Ok(())
}

fn with_type_meta(mut object: Value) -> Value {
    object["kind"] = Value::from("Lease");
    object["apiVersion"] = Value::from(API_VERSION);
    object
}

fn create(shared: &Shared, namespace: &str, mut object: Value) -> Result<Value, LeaseError> {
    check_object(&object, namespace)?;
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        return Err(LeaseError::Invalid(
            String::new(),
            vec![(
                "metadata.name".into(),
                "Required value: name or generateName is required".into(),
            )],
        ));
    }
    validate(&name, &object)?;
    let mut leases = shared.lock_leases();
    let key = (namespace.to_owned(), name.clone());
    if leases.objects.contains_key(&key) {
        return Err(LeaseError::AlreadyExists(name));
    }
    let rv = shared.write().bump();
    let meta = &mut object["metadata"];
    meta["namespace"] = Value::from(namespace);
    meta["uid"] = Value::from(format!("00000000-0000-4000-9000-{rv:012x}"));
    meta["resourceVersion"] = Value::from(rv.to_string());
    meta["creationTimestamp"] = Value::from(super::store::now_rfc3339());
    let object = with_type_meta(object);
    leases.record(namespace, &name, &object, false);
    leases.objects.insert(key, object.clone());
    Ok(object)
}

fn replace(
    shared: &Shared,
    namespace: &str,
    name: &str,
    mut object: Value,
) -> Result<Value, LeaseError> {
    check_object(&object, namespace)?;
    let body_name = object["metadata"]["name"].as_str().unwrap_or_default();
    if body_name != name {
        return Err(LeaseError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    validate(name, &object)?;
    let mut leases = shared.lock_leases();
    let key = (namespace.to_owned(), name.to_owned());
    // Leases allow unconditional updates (no resourceVersion) but not create-on-update.
    let current = leases
        .objects
        .get(&key)
        .ok_or_else(|| LeaseError::NotFound(name.to_owned()))?;
    let given = object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !given.is_empty() && given != current["metadata"]["resourceVersion"] {
        return Err(LeaseError::Conflict(name.to_owned()));
    }
    let kept = current["metadata"].clone();
    let rv = shared.write().bump();
    let meta = &mut object["metadata"];
    for field in ["uid", "creationTimestamp", "namespace"] {
        meta[field] = kept[field].clone();
    }
    meta["resourceVersion"] = Value::from(rv.to_string());
    let object = with_type_meta(object);
    leases.record(namespace, name, &object, false);
    leases.objects.insert(key, object.clone());
    Ok(object)
}

fn delete(shared: &Shared, namespace: &str, name: &str) -> Result<Value, LeaseError> {
    let mut leases = shared.lock_leases();
    let object = leases
        .objects
        .remove(&(namespace.to_owned(), name.to_owned()))
        .ok_or_else(|| LeaseError::NotFound(name.to_owned()))?;
    let rv = shared.write().bump();
    let mut tombstone = object.clone();
    tombstone["metadata"]["resourceVersion"] = Value::from(rv.to_string());
    leases.record(namespace, name, &tombstone, true);
    Ok(object)
}

fn answer(result: Result<Value, LeaseError>, ok: StatusCode) -> Response {
    match result {
        Ok(v) => json_response(ok, &v),
        Err(e) => json_response(e.code(), &e.status()),
    }
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn parse(body: &[u8]) -> Result<Value, LeaseError> {
    serde_json::from_slice(body).map_err(|e| {
        LeaseError::BadRequest(format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}

fn list_response(shared: &Shared, namespace: Option<&str>) -> Response {
    let items: Vec<Value> = shared
        .lock_leases()
        .list(namespace)
        .into_iter()
        .map(|mut v| {
            // Items of a typed list carry no type meta.
            if let Value::Object(map) = &mut v {
                map.remove("kind");
                map.remove("apiVersion");
            }
            v
        })
        .collect();
    let rv = shared.read().resource_version();
    json_response(
        StatusCode::OK,
        &json!({"kind": "LeaseList", "apiVersion": API_VERSION,
            "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    )
}

type St = State<Arc<Shared>>;

/// The Lease routes and their discovery documents, with the server's state.
pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/apis/coordination.k8s.io",
            get(|| async {
                let mut g = group_value();
                g["kind"] = Value::from("APIGroup");
                g["apiVersion"] = Value::from("v1");
                json_response(StatusCode::OK, &g)
            }),
        )
        .route(
            "/apis/coordination.k8s.io/v1",
            get(|| async {
                json_response(
                    StatusCode::OK,
                    &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
                        "resources": [{"name": "leases", "singularName": "lease", "namespaced": true,
                            "kind": "Lease", "verbs": ["create", "delete", "deletecollection", "get",
                            "list", "patch", "update", "watch"]}]}),
                )
            }),
        )
        .route(
            "/apis/coordination.k8s.io/v1/leases",
            get(|State(s): St| async move { list_response(&s, None) }),
        )
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            get(|State(s): St, Path(ns): Path<String>| async move { list_response(&s, Some(&ns)) })
                .post(
                    |State(s): St, Path(ns): Path<String>, body: Bytes| async move {
                        answer(
                            parse(&body).and_then(|o| create(&s, &ns, o)),
                            StatusCode::CREATED,
                        )
                    },
                ),
        )
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
            get(
                |State(s): St, Path((ns, name)): Path<(String, String)>| async move {
                    let found = s.lock_leases().get(&ns, &name);
                    answer(found.ok_or(LeaseError::NotFound(name)), StatusCode::OK)
                },
            )
            .put(
                |State(s): St, Path((ns, name)): Path<(String, String)>, body: Bytes| async move {
                    answer(
                        parse(&body).and_then(|o| replace(&s, &ns, &name, o)),
                        StatusCode::OK,
                    )
                },
            )
            .delete(
                |State(s): St, Path((ns, name)): Path<(String, String)>| async move {
                    answer(delete(&s, &ns, &name), StatusCode::OK)
                },
            ),
        )
}

/// The group's entry in `/apis`.
pub(super) fn group_value() -> Value {
    json!({"name": GROUP,
        "versions": [{"groupVersion": API_VERSION, "version": "v1"}],
        "preferredVersion": {"groupVersion": API_VERSION, "version": "v1"}})
}
