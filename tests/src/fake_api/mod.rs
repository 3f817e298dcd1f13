//! [`FakeApiServer`]: a Kubernetes API server for Events on 127.0.0.1 that speaks the
//! real list/watch protocol, so `kube::Client` talks to it exactly as to a cluster.
//!
//! What it does, modelled on kube-apiserver + etcd + the watch cache:
//! - `/api/v1/events`, `/api/v1/namespaces/{ns}/events[/{name}]` and the same under
//!   `/apis/events.k8s.io/v1`: one stored object (core/v1 form, as the API server stores
//!   `core.Event`) seen through both groups with the field conversion of the real
//!   server (`involvedObject`↔`regarding`, `message`↔`note`, `count`↔`deprecatedCount`, …).
//! - Discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/events.k8s.io/v1`,
//!   `/apis/coordination.k8s.io/v1`.
//! - `coordination.k8s.io/v1` Leases (`leases` module): GET, list (one namespace or all),
//!   POST (409 AlreadyExists), PUT with optimistic concurrency (a stale
//!   `metadata.resourceVersion` is 409 Conflict, worded as kube-apiserver does; no
//!   resourceVersion is an unconditional update; no create-on-update: 404), DELETE,
//!   `ValidateLeaseSpec`'s field checks (422); resourceVersions from the one counter.
//!   [`FakeApiServer::lease_writes`] logs every accepted write with its instant.
//! - Pods and their logs for the enricher, from a [`crate::pod_api::PodApi`]
//!   ([`FakeApiServer::pods`]): `/api/v1/namespaces/{ns}/pods/{name}[/log]`.
//! - list with `limit`/`continue` (base64 JSON token holding the snapshot resourceVersion
//!   and the next key; pages are consistent at that resourceVersion), `remainingItemCount`
//!   (without selectors, as the real server; counted over the keys present now),
//!   `resourceVersion` (`""`: newest; `"0"`: any, served as newest; `N`: not older than N,
//!   504 "Too large resource version" past the newest) and `resourceVersionMatch`
//!   (`NotOlderThan`, `Exact` served from the version history).
//! - watch (`watch=1`) as a chunked stream of JSON lines: ADDED/MODIFIED/DELETED,
//!   BOOKMARK (with `allowWatchBookmarks`, every [`FakeConfig::bookmark_interval`], only when
//!   nothing is pending), ERROR with a `Status`; without a resourceVersion (or `"0"`)
//!   the current objects come first as synthetic ADDED; `timeoutSeconds` ends the stream
//!   cleanly (default 1800 s, the server's `--min-request-timeout`).
//! - Monotonic resourceVersions, one counter for all writes; a compaction horizon
//!   ([`FakeApiServer::compact`]): a watch or `continue` from an older resourceVersion
//!   gets 410 Expired, with the real messages (`too old resource version: 5 (12)`).
//! - POST (201), GET, PATCH (merge and strategic merge patch, both applied as a JSON merge
//!   patch: an Event has no list fields with merge keys), DELETE, with the API server's
//!   Event validation: `legacyValidateEvent` for both groups, and for events.k8s.io/v1 the
//!   strict create checks (eventTime, reportingController as a qualified name,
//!   reportingInstance/action/reason required and ≤ 128, note ≤ 1024, type Normal|Warning,
//!   deprecated fields unset, series count ≥ 2 with lastObservedTime) and update
//!   immutability. 422 Invalid answers carry `details.causes` per field.
//! - EventPolicy (`kev.dev/v1alpha1` `eventpolicies`, namespaced, with the status
//!   subresource) and core/v1 Secrets, served as kube-apiserver serves a CRD:
//!   discovery (`/apis`, `/apis/kev.dev/v1alpha1` with `eventpolicies/status`), list
//!   (namespaced and all namespaces), watch (same JSON lines, resourceVersions from the
//!   one counter, bookmarks), GET, POST, PUT (stale resourceVersion: 409), merge PATCH,
//!   DELETE, and `/status` GET/PATCH/PUT that change only `.status`; `generation`
//!   starts at 1 and grows only with the spec ([`ResourceKind`], `custom_resources`).
//! - A [`FaultPlan`]: cut the connection after every N events (no final chunk), 410 in
//!   the middle of a stream, 500/429 with `Retry-After`, a bare HTTP 410 on watch start,
//!   stalled streams, and [`FakeApiServer::go_down`]/[`FakeApiServer::come_up`] (connection
//!   refused in between, open connections reset).
//!
//! What it does not implement: authentication and authorization (every request is
//! allowed), TLS, protobuf and Table output, gzip, `sendInitialEvents` streaming lists,
//! `PUT` of Events, `deletecollection`, JSON patch and server-side apply (415), dry-run,
//! Lease watch and PATCH, Lease `generateName` and owner references, other pod verbs,
//! `metadata.generateName` collisions retries, set-based label selectors (`in`, `notin`:
//! 400), field selectors beyond the Event fields the real server indexes, namespaces
//! as objects (any namespace exists), Event TTL expiry, the watch cache's slow-watcher
//! termination and per-watcher buffers, `Too large resource version` waiting (answered at
//! once), and priority & fairness. For EventPolicy and Secret objects: schema
//! validation, pagination, selectors, compaction and faults.

mod convert;
mod custom_resources;
mod faults;
mod leases;
mod selectors;
mod server;
mod status;
mod store;
mod watch;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::watch as notify;
use tokio::task::JoinHandle;

pub use convert::{FieldError, Group};
pub use custom_resources::{
    CRON_JOBS, DAEMON_SETS, DEPLOYMENTS, EVENT_POLICIES, JOBS, REPLICA_SETS, ResourceKind, SECRETS,
    STATEFUL_SETS,
};
pub use faults::{FaultPlan, HttpFault, StreamAction};
pub use leases::LeaseWrite;
pub use store::{Rendered, WriteError};

/// Settings of a [`FakeApiServer`].
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// How often a watch with `allowWatchBookmarks` gets a BOOKMARK when idle.
    pub bookmark_interval: Duration,
    /// Remember every (uid, resourceVersion) served in a list or watch, for tests that
    /// compute what a client could have seen ([`FakeApiServer::served`]).
    pub record_served: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            bookmark_interval: Duration::from_secs(60),
            record_served: true,
        }
    }
}

/// State shared by the connection tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    store: RwLock<store::EventStore>,
    /// The newest resourceVersion; watches wait on it.
    notify: notify::Sender<u64>,
    /// Bumped by [`FakeApiServer::go_down`]: open watches are cut.
    kill: notify::Sender<u64>,
    faults: FaultPlan,
    config: FakeConfig,
    watch_ids: AtomicU64,
    list_requests: AtomicU64,
    served: Mutex<HashSet<(String, u64)>>,
    /// EventPolicies and Secrets (`custom_resources`).
    custom: custom_resources::Objects,
    leases: Mutex<leases::LeaseStore>,
    /// Pods and their logs, served under `/api/v1/namespaces/{ns}/pods/{name}[/log]`.
    pods: crate::pod_api::PodApi,
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, store::EventStore> {
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, store::EventStore> {
        self.store
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_leases(&self) -> std::sync::MutexGuard<'_, leases::LeaseStore> {
        self.leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, object: &Rendered) {
        if self.config.record_served {
            self.served
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((object.uid.clone(), object.rv));
        }
    }

    fn changed(&self) {
        let rv = self.read().resource_version();
        self.notify.send_replace(rv);
    }
}

/// A fake Kubernetes API server for Events; see the module docs for what it implements.
///
/// ```
/// # tokio_test_block(async {
/// use kev_tests::fake_api::FakeApiServer;
/// let server = FakeApiServer::start().await.unwrap();
/// let rv = server.create("default", kev_tests::fake_api::core_event("default", "e1", "Started"));
/// assert!(rv.is_ok());
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Runtime::new().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    serving: Mutex<Option<JoinHandle<()>>>,
    /// The accept loop stopped by [`FakeApiServer::go_down`], awaited before rebinding.
    stopped: Mutex<Option<JoinHandle<()>>>,
}

impl FakeApiServer {
    /// Starts on 127.0.0.1 on a free port with the default [`FakeConfig`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeConfig::default()).await
    }

    pub async fn start_with(config: FakeConfig) -> std::io::Result<Self> {
        let server = Self::new_down(config)?;
        server.come_up().await?;
        Ok(server)
    }

    /// A server with a reserved address that is not listening yet: connections are
    /// refused until [`FakeApiServer::come_up`].
    pub fn new_down(config: FakeConfig) -> std::io::Result<Self> {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = probe.local_addr()?;
        drop(probe);
        Ok(Self {
            addr,
            shared: Arc::new(Shared {
                store: RwLock::default(),
                notify: notify::channel(0).0,
                kill: notify::channel(0).0,
                faults: FaultPlan::default(),
                config,
                watch_ids: AtomicU64::new(0),
                list_requests: AtomicU64::new(0),
                served: Mutex::default(),
                custom: custom_resources::Objects::default(),
                leases: Mutex::default(),
                pods: crate::pod_api::PodApi::new(),
            }),
            serving: Mutex::new(None),
            stopped: Mutex::new(None),
        })
    }

    /// Starts accepting connections on the server's address.
    pub async fn come_up(&self) -> std::io::Result<()> {
        let stopped = self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = stopped {
            let _ = handle.await;
        }
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        let listener = socket.listen(1024)?;
        let handle = tokio::spawn(server::serve(listener, Arc::clone(&self.shared)));
        if let Some(old) = self.lock_serving().replace(handle) {
            old.abort();
        }
        Ok(())
    }

    /// Stops listening and resets every open connection.
    pub fn go_down(&self) {
        if let Some(handle) = self.lock_serving().take() {
            handle.abort();
            *self
                .stopped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
        }
        self.shared.kill.send_modify(|g| *g += 1);
    }

    fn lock_serving(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.serving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A `kube::Client` for this server (no auth, plain HTTP, default namespace `default`).
    pub fn client(&self) -> kube::Client {
        let uri: http::Uri = self.url().parse().unwrap_or_default();
        let config = kube::Config::new(uri);
        kube::Client::try_from(config)
            .unwrap_or_else(|e| panic!("kube client for the fake server: {e}"))
    }

    /// The fault plan, changeable while the server runs.
    pub fn faults(&self) -> &FaultPlan {
        &self.shared.faults
    }

    /// Creates an Event given in its core/v1 form (in process, no validation).
    pub fn create(&self, namespace: &str, mut core: Value) -> Result<Arc<Rendered>, WriteError> {
        core["metadata"]["namespace"] = Value::from(namespace);
        convert::default_core(&mut core);
        let out = self.shared.write().create(core);
        self.shared.changed();
        out
    }

    /// Applies a JSON merge patch (in core/v1 field names) to a stored Event.
    pub fn patch(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Arc<Rendered>, WriteError> {
        let out = {
            let mut store = self.shared.write();
            let current = store
                .get(namespace, name)
                .ok_or_else(|| WriteError::NotFound(name.to_owned()))?;
            let mut core = current.core.clone();
            store::merge_patch(&mut core, patch);
            core["metadata"]["resourceVersion"] = Value::from("");
            store.update(namespace, name, core)
        };
        self.shared.changed();
        out
    }

    pub fn delete(&self, namespace: &str, name: &str) -> Result<Arc<Rendered>, WriteError> {
        let out = self.shared.write().delete(namespace, name);
        self.shared.changed();
        out
    }

    /// Sends `line` (one JSON line, newline added) to every watch of `group` at a new
    /// resourceVersion: for objects that are not valid Events.
    pub fn push_raw_line(&self, group: Group, line: &str) -> u64 {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        let rv = self.shared.write().push_raw(group, Bytes::from(bytes));
        self.shared.changed();
        rv
    }

    /// The latest stored version of `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<Rendered>> {
        self.shared.read().get(namespace, name)
    }

    /// Every live Event.
    pub fn live(&self) -> Vec<Arc<Rendered>> {
        self.shared.read().live()
    }

    /// The newest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.read().resource_version()
    }

    /// Compacts the history at the newest resourceVersion.
    pub fn compact(&self) {
        self.shared.write().compact();
    }

    /// Every (uid, resourceVersion) served in a list page or watch ADDED/MODIFIED line.
    pub fn served(&self) -> HashSet<(String, u64)> {
        self.shared
            .served
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Watch requests answered so far (each gets the next id, from 1).
    pub fn watch_requests(&self) -> u64 {
        self.shared.watch_ids.load(Ordering::Relaxed)
    }

    /// List requests answered so far (each page counts).
    pub fn list_requests(&self) -> u64 {
        self.shared.list_requests.load(Ordering::Relaxed)
    }

    /// A Lease as stored (`coordination.k8s.io/v1`), with its type meta.
    pub fn lease(&self, namespace: &str, name: &str) -> Option<Value> {
        self.shared.lock_leases().get(namespace, name)
    }

    /// Every accepted Lease write so far, in order, with when it happened.
    pub fn lease_writes(&self) -> Vec<LeaseWrite> {
        self.shared.lock_leases().writes().to_vec()
    }

    /// The pods and logs this server serves (for the enricher).
    pub fn pods(&self) -> &crate::pod_api::PodApi {
        &self.shared.pods
    }

    /// Stalls every watch opened so far: their connections stay open, nothing is sent.
    pub fn stall_open_watches(&self) {
        self.shared.faults.stall_up_to(self.watch_requests());
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.go_down();
    }
}

/// A core/v1 Event in its wire form, as a recorder would POST it: namespace, name,
/// reason, a Pod as involved object, count 1, timestamps now.
pub fn core_event(namespace: &str, name: &str, reason: &str) -> Value {
    let now = store::now_rfc3339();
    serde_json::json!({
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": format!("{name}-pod"),
            "uid": "11111111-2222-3333-4444-555555555555", "apiVersion": "v1"},
        "reason": reason,
        "message": format!("{reason} for {name}"),
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
        "reportingComponent": "kubelet",
        "reportingInstance": "node-1"
    })
}

/// Now as `metav1.MicroTime` (`eventTime`).
pub fn now_micro() -> String {
    store::now_micro()
}
