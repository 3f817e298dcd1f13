//! The ingest's extra work per event for owner chains: the names' chain of a
//! Deployment's pod (`infer_chain`, what the ingest does for a replay or an event
//! without a chain), and the record and index keys of an event with and without its
//! two-link chain (what every store then writes). Goal: ≤ 1 µs added per event.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a bench is a failed setup

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::owners::infer_chain;
use kev_core::store::codec::encode_event;
use kev_core::store::index::IndexKeys;
use kev_core::{Event, EventType, ObjectRef, OwnerChain};

fn bench(c: &mut Criterion) {
    let pod = ObjectRef {
        kind: "Pod".into(),
        name: "checkout-api-7d9f8c6b5-x2kqp".into(),
        namespace: "shop".into(),
        ..Default::default()
    };
    assert_eq!(infer_chain(&pod).links.len(), 2);
    let mut group = c.benchmark_group("owners");
    group.throughput(Throughput::Elements(1));
    group.bench_function("infer_chain_deployment_pod", |b| {
        b.iter(|| infer_chain(std::hint::black_box(&pod)))
    });
    let t = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let with = Event {
        cluster: "prod-eu-1".into(),
        namespace: "shop".into(),
        name: "checkout-api-7d9f8c6b5-x2kqp.17f3a1b2c3d4e5f6".into(),
        uid: "8ff136be-d0ba-4a62-8a88-459ee38d7448".into(),
        resource_version: "953924".into(),
        r#type: EventType::Warning,
        reason: "BackOff".into(),
        message: "Back-off restarting failed container checkout-api in pod checkout-api-7d9f8c6b5-x2kqp_shop".into(),
        regarding: pod.clone(),
        owners: infer_chain(&pod),
        reporting_controller: "kubelet".into(),
        first_seen: Some(t),
        last_seen: Some(t),
        count: 12,
        ..Default::default()
    };
    let without = Event {
        owners: OwnerChain::default(),
        ..with.clone()
    };
    let mut buf = Vec::with_capacity(2048);
    for (name, event) in [("with_chain", &with), ("without_chain", &without)] {
        group.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                buf.clear();
                encode_event(std::hint::black_box(event), &mut buf);
            })
        });
        group.bench_function(format!("index_keys_{name}"), |b| {
            b.iter(|| IndexKeys::in_segment(std::hint::black_box(event), 42, 3))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
