//! The remediation gate: occurrence thresholds, windows, durable cooldowns across
//! restarts, owner keys; and a route with a gate and an enricher end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use kev_core::testkit::pipeline::{EventsSource, PassThrough};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use kev_core::enrich::{
    Enricher, Enrichers, EventContext, RelatedEventsConfig, RelatedEventsEnricher,
};
use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, Route};
use kev_core::remediation::{
    GateDecision, GateRecord, RemediationConfig, RemediationGate, RemediationKey, STATE_NAMESPACE,
};
use kev_core::{
    Batch, Event, ManualClock, MemoryStore, ObjectRef, Sink, SinkError, Store, StoredEvent,
};
use tokio_util::sync::CancellationToken;

const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn clock() -> Arc<ManualClock> {
    let c = Arc::new(ManualClock::new());
    c.advance(Duration::from_secs(T0));
    c
}

fn pod_event(uid: &str, rv: &str, pod: &str, reason: &str, count: u32) -> Event {
    Event {
        cluster: "c1".into(),
        namespace: "shop".into(),
        name: format!("{pod}.{uid}"),
        uid: uid.into(),
        resource_version: rv.into(),
        r#type: kev_core::EventType::Warning,
        reason: reason.into(),
        message: "Back-off restarting failed container".into(),
        regarding: ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: pod.into(),
            uid: format!("pod-{pod}"),
            ..Default::default()
        },
        count,
        last_seen: Some(Timestamp::from_second(T0 as i64).unwrap()),
        ..Default::default()
    }
}

fn gate(config: RemediationConfig, clock: &Arc<ManualClock>) -> RemediationGate {
    RemediationGate::new("fix", config).with_clock(clock.clone())
}

#[test]
fn fires_after_min_occurrences_counting_event_counts() {
    let clock = clock();
    let store = MemoryStore::new();
    let config = RemediationConfig {
        min_occurrences: 5,
        key: RemediationKey::Object,
        ..Default::default()
    };
    let g = gate(config, &clock);
    // One aggregated event seen with count 2, then 3 (adds 1), then the same version
    // again (adds nothing), then count 5 (adds 2).
    let d = g
        .admit(&store, &pod_event("e1", "1", "web-0", "BackOff", 2))
        .unwrap();
    assert_eq!(d, GateDecision::BelowThreshold { seen: 2, needed: 5 });
    let d = g
        .admit(&store, &pod_event("e1", "2", "web-0", "BackOff", 3))
        .unwrap();
    assert_eq!(d, GateDecision::BelowThreshold { seen: 3, needed: 5 });
    let d = g
        .admit(&store, &pod_event("e1", "2", "web-0", "BackOff", 3))
        .unwrap();
    assert_eq!(d, GateDecision::BelowThreshold { seen: 3, needed: 5 });
    // Another reason is another problem.
    let d = g
        .admit(&store, &pod_event("e9", "1", "web-0", "Unhealthy", 4))
        .unwrap();
    assert_eq!(d, GateDecision::BelowThreshold { seen: 4, needed: 5 });
    let d = g
        .admit(&store, &pod_event("e1", "3", "web-0", "BackOff", 5))
        .unwrap();
    assert_eq!(d, GateDecision::Fire);
}

#[test]
fn occurrences_outside_the_window_do_not_count() {
    let clock = clock();
    let store = MemoryStore::new();
    let config = RemediationConfig {
        min_occurrences: 3,
        window: Duration::from_secs(600),
        ..Default::default()
    };
    let g = gate(config, &clock);
    g.admit(&store, &pod_event("a", "1", "web-0", "BackOff", 1))
        .unwrap();
    g.admit(&store, &pod_event("b", "1", "web-0", "BackOff", 1))
        .unwrap();
    clock.advance(Duration::from_secs(601));
    let d = g
        .admit(&store, &pod_event("c", "1", "web-0", "BackOff", 1))
        .unwrap();
    assert_eq!(d, GateDecision::BelowThreshold { seen: 1, needed: 3 });
    clock.advance(Duration::from_secs(60));
    g.admit(&store, &pod_event("d", "1", "web-0", "BackOff", 1))
        .unwrap();
    let d = g
        .admit(&store, &pod_event("e", "1", "web-0", "BackOff", 1))
        .unwrap();
    assert_eq!(d, GateDecision::Fire);
}

#[test]
fn cooldown_survives_a_restart_and_ends() {
    let clock = clock();
    let store = MemoryStore::new();
    let config = RemediationConfig {
        min_occurrences: 1,
        cooldown: Duration::from_secs(3600),
        ..Default::default()
    };
    let first = gate(config.clone(), &clock);
    assert_eq!(
        first
            .admit(&store, &pod_event("a", "1", "web-0", "BackOff", 1))
            .unwrap(),
        GateDecision::Fire
    );
    drop(first);
    // A new process (or the new leader) with the same store.
    clock.advance(Duration::from_secs(1800));
    let second = gate(config, &clock);
    let d = second
        .admit(&store, &pod_event("b", "1", "web-0", "BackOff", 1))
        .unwrap();
    let fired_at = Timestamp::from_second(T0 as i64).unwrap();
    assert_eq!(
        d,
        GateDecision::Cooldown {
            fired_at,
            until: Timestamp::from_second(T0 as i64 + 3600).unwrap()
        }
    );
    // The event that fired, read again after a crash before the cursor moved, passes:
    // its delivery is at-least-once, its repeat carries the same idempotency key.
    assert_eq!(
        second
            .admit(&store, &pod_event("a", "1", "web-0", "BackOff", 1))
            .unwrap(),
        GateDecision::Fire
    );
    clock.advance(Duration::from_secs(1801));
    assert_eq!(
        second
            .admit(&store, &pod_event("c", "1", "web-0", "BackOff", 1))
            .unwrap(),
        GateDecision::Fire
    );
    // The record is documented JSON.
    let key = format!(
        "fix|{}",
        second.problem_key(&pod_event("c", "1", "web-0", "BackOff", 1))
    );
    let raw = store.get_state(STATE_NAMESPACE, &key).unwrap().unwrap();
    let record: GateRecord = serde_json::from_slice(&raw).unwrap();
    assert_eq!(record.fired_by.as_deref(), Some("c/1"));
    assert_eq!(
        record.fired_at,
        Some(Timestamp::from_second(T0 as i64 + 3601).unwrap())
    );
}

#[test]
fn owner_key_makes_one_workload_one_remediation() {
    let clock = clock();
    let store = MemoryStore::new();
    let owner = gate(RemediationConfig::default(), &clock);
    let a = pod_event("a", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1);
    let b = pod_event("b", "1", "api-5f6b8d9c47-zzt2k", "BackOff", 1);
    assert_eq!(
        owner.problem_key(&a),
        "c1/shop/ReplicaSet/api-5f6b8d9c47/BackOff"
    );
    assert_eq!(owner.admit(&store, &a).unwrap(), GateDecision::Fire);
    assert!(matches!(
        owner.admit(&store, &b).unwrap(),
        GateDecision::Cooldown { .. }
    ));

    let by_object = RemediationGate::new(
        "per-pod",
        RemediationConfig {
            key: RemediationKey::Object,
            ..Default::default()
        },
    )
    .with_clock(clock.clone());
    assert_eq!(by_object.admit(&store, &a).unwrap(), GateDecision::Fire);
    assert_eq!(by_object.admit(&store, &b).unwrap(), GateDecision::Fire);
}

#[test]
fn a_damaged_record_is_a_named_error() {
    let clock = clock();
    let store = MemoryStore::new();
    let g = gate(RemediationConfig::default(), &clock);
    let e = pod_event("a", "1", "web-0", "BackOff", 1);
    let key = format!("fix|{}", g.problem_key(&e));
    store.put_state(STATE_NAMESPACE, &key, b"not json").unwrap();
    let err = g.admit(&store, &e).unwrap_err().to_string();
    assert!(
        err.contains("remediation-gate/fix|c1/shop/StatefulSet/web/BackOff"),
        "{err}"
    );
}

// ---- a route with a gate and an enricher ----

/// Records what it got, with context when the route enriched.
#[derive(Debug, Default)]
struct Recorder {
    plain: Mutex<Vec<Event>>,
    enriched: Mutex<Vec<(Event, EventContext)>>,
}

#[async_trait]
impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        for (stored, context) in batch.iter() {
            match context {
                Some(context) => self
                    .enriched
                    .lock()
                    .unwrap()
                    .push((stored.event.clone(), context.clone())),
                None => self.plain.lock().unwrap().push(stored.event.clone()),
            }
        }
        Ok(())
    }
}

/// Fails its part, always: the event must still go through.
#[derive(Debug)]
struct Broken;

#[async_trait]
impl Enricher for Broken {
    async fn enrich(&self, _event: &StoredEvent, context: &mut EventContext) {
        context.fail("spec", "API server unreachable");
    }
}

async fn run(
    store: &Arc<MemoryStore>,
    events: Vec<Event>,
    clock: &Arc<ManualClock>,
) -> Arc<Recorder> {
    let sink = Arc::new(Recorder::default());
    let store_dyn: Arc<dyn Store> = store.clone();
    let enricher = Enrichers(vec![
        Arc::new(RelatedEventsEnricher::new(
            store_dyn.clone(),
            RelatedEventsConfig::default(),
        )),
        Arc::new(Broken),
    ]);
    let config = RemediationConfig {
        min_occurrences: 3,
        ..Default::default()
    };
    let route = Route::new("fix", Arc::new(KeepAll))
        .remediation(RemediationGate::new("fix", config).with_clock(clock.clone()))
        .enricher(Arc::new(enricher))
        .sink(sink.clone());
    let report = Pipeline::new(
        Box::new(EventsSource::new(events)),
        Arc::new(PassThrough),
        store_dyn,
    )
    .route(route)
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(report.routes.len(), 1);
    sink
}

#[tokio::test]
async fn route_fires_once_with_context_and_not_again_after_restart() {
    let clock = clock();
    let store = Arc::new(MemoryStore::new());
    let mut first = vec![
        pod_event("a", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
        pod_event("b", "1", "api-5f6b8d9c47-zzt2k", "BackOff", 1),
        pod_event("c", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
        pod_event("d", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
    ];
    for (i, e) in first.iter_mut().enumerate() {
        e.last_seen = Some(Timestamp::from_second(T0 as i64 + i as i64).unwrap());
    }
    let sink = run(&store, first, &clock).await;
    let got = sink.enriched.lock().unwrap().clone();
    assert!(sink.plain.lock().unwrap().is_empty());
    assert_eq!(got.len(), 1, "one remediation for the workload: {got:?}");
    let (event, context) = &got[0];
    assert_eq!(event.uid, "c");
    // Related events: the same pod's other events (not the event itself), newest first;
    // the sibling pod is another object.
    let related: Vec<&str> = context
        .related_events
        .iter()
        .map(|e| e.uid.as_str())
        .collect();
    assert_eq!(related, ["a"]);
    assert_eq!(context.failures.len(), 1);
    assert_eq!(context.failures[0].part, "spec");

    // Restart: a new pipeline and route on the same store, more of the same problem.
    clock.advance(Duration::from_secs(600));
    let again = vec![
        pod_event("e", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
        pod_event("f", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
        pod_event("g", "1", "api-5f6b8d9c47-qwxzr", "BackOff", 1),
    ];
    let sink = run(&store, again, &clock).await;
    assert!(sink.enriched.lock().unwrap().is_empty());
}

#[test]
fn a_storm_keeps_the_record_small_and_the_count_right() {
    let clock = clock();
    let store = MemoryStore::new();
    let config = RemediationConfig {
        min_occurrences: 200,
        window: Duration::from_secs(3600),
        ..Default::default()
    };
    let g = gate(config, &clock);
    for i in 1..200 {
        clock.advance(Duration::from_secs(1));
        let d = g
            .admit(
                &store,
                &pod_event(&format!("u{i}"), "1", "web-0", "BackOff", 1),
            )
            .unwrap();
        assert_eq!(
            d,
            GateDecision::BelowThreshold {
                seen: i,
                needed: 200
            }
        );
    }
    let e = pod_event("u200", "1", "web-0", "BackOff", 1);
    let key = format!("fix|{}", g.problem_key(&e));
    let size = store
        .get_state(STATE_NAMESPACE, &key)
        .unwrap()
        .unwrap()
        .len();
    assert!(size < 16 * 1024, "record of {size} bytes");
    assert_eq!(g.admit(&store, &e).unwrap(), GateDecision::Fire);
}
