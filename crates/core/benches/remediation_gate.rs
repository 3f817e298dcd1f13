//! Remediation gate throughput on the memory store: events of many problems (a record
//! read and written per event) and a storm of one problem in its cooldown.
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is a failed run

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::remediation::{RemediationConfig, RemediationGate};
use kev_core::{Event, ManualClock, MemoryStore, ObjectRef};

fn event(i: u64, pod: String) -> Event {
    Event {
        namespace: "shop".into(),
        uid: format!("uid-{i}"),
        resource_version: "1".into(),
        reason: "BackOff".into(),
        count: 1,
        regarding: ObjectRef {
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: pod,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn gate(c: &mut Criterion) {
    let mut group = c.benchmark_group("remediation_gate");
    const N: u64 = 1000;
    group.throughput(Throughput::Elements(N));
    let clock = Arc::new(ManualClock::new());
    clock.advance(Duration::from_secs(1_767_225_600));
    let config = RemediationConfig {
        min_occurrences: 3,
        ..Default::default()
    };
    // Names without a generated suffix: one problem per pod.
    let many: Vec<Event> = (0..N)
        .map(|i| event(i, format!("pod{}", i % 200)))
        .collect();
    group.bench_function("admit_200_problems", |b| {
        b.iter(|| {
            let store = MemoryStore::new();
            let g = RemediationGate::new("fix", config.clone()).with_clock(clock.clone());
            for e in &many {
                black_box(g.admit(&store, e).unwrap());
            }
        });
    });
    let storm: Vec<Event> = (0..N).map(|i| event(i, "web-0".into())).collect();
    group.bench_function("admit_one_problem_storm", |b| {
        b.iter(|| {
            let store = MemoryStore::new();
            let g = RemediationGate::new("fix", config.clone()).with_clock(clock.clone());
            for e in &storm {
                black_box(g.admit(&store, e).unwrap());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
