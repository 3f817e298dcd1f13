//! [`EventStore`]: the fake server's multi-version object store, with the write log
//! that watches replay, resourceVersions and a compaction horizon, as etcd + the watch
//! cache behave behind the real API server.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::convert::{self, Group};

/// One stored version of an Event, rendered once for both API groups.
#[derive(Debug)]
pub struct Rendered {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub rv: u64,
    /// The object in its core/v1 form, the storage form (as the real server stores
    /// `core.Event` and converts on the way out).
    pub core: Value,
    /// `{"kind":"Event","apiVersion":"v1",...}`.
    pub core_bytes: Bytes,
    /// `{"kind":"Event","apiVersion":"events.k8s.io/v1",...}`.
    pub events_bytes: Bytes,
    /// Where the fields after `kind`/`apiVersion` start in the bytes (list items carry no
    /// type meta, as in the real server's typed lists).
    pub core_body: usize,
    pub events_body: usize,
}

impl Rendered {
    fn new(core: Value, rv: u64) -> Self {
        let meta = &core["metadata"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let events = convert::core_to_events(&core);
        let (core_bytes, core_body) = render(Group::Core, &core);
        let (events_bytes, events_body) = render(Group::Events, &events);
        Self {
            namespace: text(&meta["namespace"]),
            name: text(&meta["name"]),
            uid: text(&meta["uid"]),
            rv,
            core,
            core_bytes,
            events_bytes,
            core_body,
            events_body,
        }
    }

    /// The full object (with type meta) as `group` shows it.
    pub fn bytes(&self, group: Group) -> &[u8] {
        match group {
            Group::Core => &self.core_bytes,
            Group::Events => &self.events_bytes,
        }
    }

    /// The object's fields without `kind`/`apiVersion`, starting after the opening brace.
    pub fn body(&self, group: Group) -> &[u8] {
        match group {
            Group::Core => &self.core_bytes[self.core_body..],
            Group::Events => &self.events_bytes[self.events_body..],
        }
    }

    /// The object as `group` shows it, as JSON.
    pub fn value(&self, group: Group) -> Value {
        match group {
            Group::Core => with_type_meta(Group::Core, self.core.clone()),
            Group::Events => with_type_meta(Group::Events, convert::core_to_events(&self.core)),
        }
    }
}

fn with_type_meta(group: Group, mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        map.insert("kind".into(), Value::from("Event"));
        map.insert("apiVersion".into(), Value::from(group.api_version()));
    }
    v
}

/// Renders `{"kind":"Event","apiVersion":…,<fields>}` and returns where `<fields>` start.
fn render(group: Group, object: &Value) -> (Bytes, usize) {
    let mut out = format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"{}\",",
        group.api_version()
    )
    .into_bytes();
    let body = out.len();
    let mut fields = object.clone();
    if let Value::Object(map) = &mut fields {
        map.remove("kind");
        map.remove("apiVersion");
    }
    let encoded = serde_json::to_vec(&fields).unwrap_or_else(|_| b"{}".to_vec());
    // `encoded` is `{...}`: drop its opening brace, the prefix has one.
    out.extend_from_slice(&encoded[1..]);
    (Bytes::from(out), body)
}

/// What happened to an object at one resourceVersion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One entry of the write log that watches replay.
#[derive(Debug, Clone)]
pub enum LogEntry {
    Object {
        change: Change,
        object: Arc<Rendered>,
    },
    /// A raw watch line sent to every watch of `group` as it is (bad objects for tests).
    Raw { rv: u64, group: Group, line: Bytes },
}

impl LogEntry {
    pub fn rv(&self) -> u64 {
        match self {
            Self::Object { object, .. } => object.rv,
            Self::Raw { rv, .. } => *rv,
        }
    }
}

#[derive(Debug)]
struct Version {
    rv: u64,
    /// `None`: deleted at `rv`.
    object: Option<Arc<Rendered>>,
}

/// One list page at a snapshot.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Arc<Rendered>>,
    /// The key to continue after; `None`: this was the last page.
    pub next: Option<(String, String)>,
    /// `remainingItemCount`, when counted.
    pub remaining: Option<usize>,
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    AlreadyExists(String),
    NotFound(String),
    Conflict(String),
    Invalid(String),
}

/// The objects and their history since the compaction horizon.
#[derive(Debug, Default)]
pub struct EventStore {
    rv: u64,
    /// Oldest resourceVersion still served: watching or continuing a list from an older
    /// one is answered with 410 Expired.
    horizon: u64,
    objects: BTreeMap<(String, String), Vec<Version>>,
    log: Vec<LogEntry>,
    next_uid: u64,
}

impl EventStore {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn horizon(&self) -> u64 {
        self.horizon
    }

    /// Takes the next resourceVersion of the server's one counter.
    pub(super) fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// The latest live version of `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<Rendered>> {
        self.objects
            .get(&(namespace.to_owned(), name.to_owned()))
            .and_then(|vs| vs.last())
            .and_then(|v| v.object.clone())
    }

    /// Stores a new object given in its core/v1 form; fills uid, resourceVersion,
    /// creationTimestamp and a name from `generateName`.
    pub fn create(&mut self, mut core: Value) -> Result<Arc<Rendered>, WriteError> {
        let rv = self.rv + 1;
        let meta = core
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| WriteError::Invalid("metadata: Required value".into()))?;
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(WriteError::Invalid(
                    "metadata.name: Required value: name or generateName is required".into(),
                ));
            }
            name = format!("{prefix}{:05x}", self.next_uid);
            meta.insert("name".into(), Value::from(name.clone()));
        }
        let key = (namespace, name.clone());
        if self
            .objects
            .get(&key)
            .and_then(|vs| vs.last())
            .is_some_and(|v| v.object.is_some())
        {
            return Err(WriteError::AlreadyExists(name));
        }
        self.next_uid += 1;
        meta.insert(
            "uid".into(),
            Value::from(format!("00000000-0000-4000-8000-{:012x}", self.next_uid)),
        );
        meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        meta.entry("creationTimestamp")
            .or_insert_with(|| Value::from(now_rfc3339()));
        self.bump();
        let object = Arc::new(Rendered::new(core, rv));
        self.push(key, Change::Added, Some(Arc::clone(&object)));
        Ok(object)
    }

    /// Replaces the object with `core` (already merged by the caller); keeps uid and
    /// creationTimestamp; checks `metadata.resourceVersion` when the caller set one.
    pub fn update(
        &mut self,
        namespace: &str,
        name: &str,
        mut core: Value,
    ) -> Result<Arc<Rendered>, WriteError> {
        let current = self
            .get(namespace, name)
            .ok_or_else(|| WriteError::NotFound(name.to_owned()))?;
        let rv = self.rv + 1;
        let meta = core
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| WriteError::Invalid("metadata: Required value".into()))?;
        if let Some(given) = meta.get("resourceVersion").and_then(Value::as_str)
            && !given.is_empty()
            && given != current.rv.to_string()
        {
            return Err(WriteError::Conflict(name.to_owned()));
        }
        let old_meta = &current.core["metadata"];
        for keep in ["uid", "creationTimestamp", "namespace", "name"] {
            meta.insert(keep.into(), old_meta[keep].clone());
        }
        meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        self.bump();
        let object = Arc::new(Rendered::new(core, rv));
        self.push(
            (namespace.to_owned(), name.to_owned()),
            Change::Modified,
            Some(Arc::clone(&object)),
        );
        Ok(object)
    }

    /// Deletes the object; the DELETED watch event carries the last state at a new rv.
    pub fn delete(&mut self, namespace: &str, name: &str) -> Result<Arc<Rendered>, WriteError> {
        let current = self
            .get(namespace, name)
            .ok_or_else(|| WriteError::NotFound(name.to_owned()))?;
        let rv = self.bump();
        let mut core = current.core.clone();
        core["metadata"]["resourceVersion"] = Value::from(rv.to_string());
        let object = Arc::new(Rendered::new(core, rv));
        let key = (namespace.to_owned(), name.to_owned());
        self.objects
            .entry(key)
            .or_default()
            .push(Version { rv, object: None });
        self.log.push(LogEntry::Object {
            change: Change::Deleted,
            object: Arc::clone(&object),
        });
        Ok(object)
    }

    /// Appends a raw watch line for `group` at a new resourceVersion.
    pub fn push_raw(&mut self, group: Group, line: Bytes) -> u64 {
        let rv = self.bump();
        self.log.push(LogEntry::Raw { rv, group, line });
        rv
    }

    fn push(&mut self, key: (String, String), change: Change, object: Option<Arc<Rendered>>) {
        let rv = self.rv;
        if let Some(o) = &object {
            self.log.push(LogEntry::Object {
                change,
                object: Arc::clone(o),
            });
        }
        self.objects
            .entry(key)
            .or_default()
            .push(Version { rv, object });
    }

    /// Forgets history up to the current resourceVersion, as an etcd compaction: watching
    /// or continuing a list from an older resourceVersion is then 410 Expired.
    pub fn compact(&mut self) {
        self.compact_to(self.rv);
    }

    /// Forgets history older than `rv`.
    pub fn compact_to(&mut self, rv: u64) {
        let rv = rv.min(self.rv);
        if rv <= self.horizon {
            return;
        }
        self.horizon = rv;
        let keep_from = self.log.partition_point(|e| e.rv() <= rv);
        self.log.drain(..keep_from);
        self.objects.retain(|_, versions| {
            // Keep the newest version at or before the horizon: it is the state there.
            let first_kept = versions.partition_point(|v| v.rv <= rv).saturating_sub(1);
            versions.drain(..first_kept);
            !(versions.len() == 1 && versions[0].object.is_none())
        });
    }

    /// Log entries with `rv > after`, at most `max`.
    pub fn entries_after(&self, after: u64, max: usize) -> &[LogEntry] {
        let start = self.log.partition_point(|e| e.rv() <= after);
        let end = (start + max).min(self.log.len());
        &self.log[start..end]
    }

    /// Objects alive at `rv`, in key order, starting after `start` (exclusive), with a
    /// filter; at most `limit`. Also returns the key to continue after when more follow,
    /// and `remainingItemCount` when `count_remaining` (no selector, as the real server):
    /// the keys after the page present now, an estimate as cheap as etcd's count.
    pub fn snapshot_page(
        &self,
        rv: u64,
        namespace: Option<&str>,
        start: Option<&(String, String)>,
        limit: usize,
        keep: &dyn Fn(&Rendered) -> bool,
        count_remaining: bool,
    ) -> Page {
        use std::ops::Bound;
        let lower = match (start, namespace) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_owned(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let in_scope = |key: &(String, String)| namespace.is_none_or(|ns| key.0 == ns);
        let mut items = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for (key, versions) in self.objects.range((lower, Bound::Unbounded)) {
            if !in_scope(key) {
                break;
            }
            let idx = versions.partition_point(|v| v.rv <= rv);
            let Some(object) = idx.checked_sub(1).and_then(|i| versions[i].object.as_ref()) else {
                continue;
            };
            if !keep(object) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(Arc::clone(object));
            last_key = Some(key.clone());
        }
        if !more {
            return Page {
                items,
                next: None,
                remaining: None,
            };
        }
        let remaining = match (&last_key, count_remaining) {
            (Some(k), true) => Some(
                self.objects
                    .range((Bound::Excluded(k.clone()), Bound::Unbounded))
                    .take_while(|(key, _)| in_scope(key))
                    .count(),
            ),
            _ => None,
        };
        Page {
            items,
            next: last_key,
            remaining,
        }
    }

    /// Every live object, for `watch` without a resourceVersion (synthetic ADDED events).
    pub fn live(&self) -> Vec<Arc<Rendered>> {
        self.objects
            .values()
            .filter_map(|vs| vs.last().and_then(|v| v.object.clone()))
            .collect()
    }
}

/// Now, as the API server writes `metav1.Time` (seconds, UTC, `Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Now, as the API server writes `metav1.MicroTime`.
pub fn now_micro() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

/// Merges `patch` into `target` (RFC 7386 JSON merge patch).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}
