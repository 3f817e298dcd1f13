//! The store bench workload shared by every backend: [`typical_event`] (about 1 KiB of
//! JSON, like a kubelet event), [`fill`] and the benchmark queries.

use jiff::{SignedDuration, Timestamp};

use crate::event::{Event, EventType, ObjectRef};
use crate::store::{Order, Query, Store, StoreError};

/// Namespaces the workload spreads its events over.
pub const NAMESPACES: usize = 20;
/// Each uid gets this many versions (resourceVersions), as a repeating event does.
pub const VERSIONS: u64 = 3;
/// Events are this far apart: 1,000,000 events cover about a week.
pub const SPACING_MILLIS: i64 = 600;

const REASONS: [&str; 6] = [
    "BackOff",
    "Pulled",
    "Created",
    "Started",
    "Unhealthy",
    "FailedScheduling",
];

/// The start of the workload's timeline.
pub fn start() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The time of event `i`.
pub fn time_of(i: u64) -> Timestamp {
    start() + SignedDuration::from_millis(SPACING_MILLIS.saturating_mul(i as i64))
}

fn uuid(n: u64, salt: u64) -> String {
    // A cheap mix so that uids look random but are reproducible.
    let a = (n ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let b = a.rotate_left(29).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Event `i` of the workload: version `i % VERSIONS + 1` of uid `i / VERSIONS`, in
/// namespace `ns-(uid % 20)`, about a Pod, with a kubelet-like message; about 1 KiB as JSON.
///
/// ```
/// let e = kev_core::testkit::store::workload::typical_event(7);
/// let len = serde_json::to_vec(&e).unwrap().len();
/// assert!((900..1200).contains(&len), "{len}");
/// ```
pub fn typical_event(i: u64) -> Event {
    let n = i / VERSIONS;
    let version = i % VERSIONS + 1;
    let ns = format!("ns-{}", n % NAMESPACES as u64);
    let pod = format!("web-{:x}-{}", n % 997, n % 13);
    let t = time_of(i);
    let first = time_of(n * VERSIONS);
    let reason = REASONS[(n % REASONS.len() as u64) as usize];
    let message = format!(
        "Back-off restarting failed container app in pod {pod}_{ns}({}): container exited with code 1 \
         after readiness probe failed: Get \"http://10.1.{}.{}:8080/healthz\": dial tcp 10.1.{}.{}:8080: \
         connect: connection refused. Last state: Terminated (reason: Error, exit code: 1, started \
         {first}, finished {t}); restart count {version}",
        uuid(n, 2),
        n % 250,
        n % 200,
        n % 250,
        n % 200
    );
    let regarding = ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: ns.clone(),
        name: pod.clone(),
        uid: uuid(n, 2),
        field_path: "spec.containers{app}".into(),
    };
    Event {
        cluster: "prod-eu-1".into(),
        namespace: ns.clone(),
        name: format!("{pod}.{:016x}", n.wrapping_mul(0x9E37_79B9)),
        uid: uuid(n, 1),
        resource_version: (100_000_000 + i).to_string(),
        r#type: if reason == "Pulled" || reason == "Created" || reason == "Started" {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: reason.into(),
        message,
        action: String::new(),
        owners: crate::owners::infer_chain(&regarding),
        regarding,
        related: None,
        reporting_controller: "kubelet".into(),
        reporting_instance: format!("node-{}", n % 50),
        source_host: format!("node-{}", n % 50),
        first_seen: Some(first),
        last_seen: Some(t),
        count: version as u32,
        labels: Default::default(),
        annotations: Default::default(),
        truncated: false,
    }
}

/// Appends events `from..to` in batches of `batch`.
pub fn fill<S: Store + ?Sized>(
    store: &S,
    from: u64,
    to: u64,
    batch: usize,
) -> Result<(), StoreError> {
    let mut i = from;
    let mut buf = Vec::with_capacity(batch);
    while i < to {
        buf.clear();
        let end = to.min(i + batch as u64);
        buf.extend((i..end).map(typical_event));
        store.append(&buf, None)?;
        i = end;
    }
    Ok(())
}

/// The bench query: one namespace over the last hour of a store filled with `events`.
/// The involved object of the last of `events` events (a Pod), over the last hour or, with
/// `hours: None`, over the whole history: the object + time case of the indexes.
pub fn object_query(events: u64, hours: Option<i64>) -> Query {
    let last = typical_event(events.saturating_sub(1));
    let end = time_of(events);
    Query {
        kind: Some(last.regarding.kind),
        name: Some(last.regarding.name),
        since: hours.map(|h| end - SignedDuration::from_hours(h)),
        until: Some(end),
        order: Order::NewestFirst,
        ..Default::default()
    }
}

pub fn namespace_hour_query(events: u64, collapse: bool) -> Query {
    let end = time_of(events);
    Query {
        namespace: Some("ns-7".into()),
        since: Some(end - SignedDuration::from_hours(1)),
        until: Some(end),
        order: Order::NewestFirst,
        collapse,
        ..Default::default()
    }
}
