//! The state gauges' cost: CPU per event of the condition tracker, and the time to
//! render `kev_objects_in_condition` / `kev_condition_seconds` (a `/metrics` scrape's
//! share) with 100,000 distinct failing objects, whose series count it prints.
//!
//! `cargo bench -p kev-core --bench condition`. Wall time of one thread: run it on an
//! idle machine.

// The bench's own fixed inputs: if they are wrong, stopping with its message is right.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::condition::{ConditionConfig, ConditionTracker};
use kev_core::{Event, ObjectRef};

const OBJECTS: usize = 100_000;
/// Events per measured iteration.
const CHUNK: usize = 1024;

fn event(reason: &str, i: usize) -> Event {
    Event {
        reason: reason.into(),
        regarding: ObjectRef {
            kind: format!("Kind{}", i % 300),
            namespace: format!("ns-{}", i % 5_000),
            name: format!("obj-{i}"),
            ..Default::default()
        },
        last_seen: Some(jiff::Timestamp::now()),
        ..Default::default()
    }
}

/// 100,000 objects in 5,000 namespaces and 300 kinds, spread over five conditions.
fn failing(tracker: &ConditionTracker) {
    let reasons = [
        "BackOff",
        "ErrImagePull",
        "FailedScheduling",
        "Unhealthy",
        "FailedMount",
    ];
    let events: Vec<Event> = (0..OBJECTS)
        .map(|i| event(reasons[i % reasons.len()], i))
        .collect();
    tracker.apply(tracker.signals(&events));
}

fn bench(c: &mut Criterion) {
    let tracker = ConditionTracker::new(ConditionConfig::default());
    failing(&tracker);
    let text = tracker.render();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    eprintln!(
        "condition: {} objects tracked, {series} series in /metrics' state gauges ({} bytes), bound {} per gauge",
        tracker.tracked(),
        text.len(),
        tracker.config().max_series
    );

    let mut group = c.benchmark_group("condition");
    // A watch's mix: mostly routine events (one lookup), some failures of objects
    // already tracked, some recoveries.
    let mix: Vec<Event> = (0..CHUNK)
        .map(|i| match i % 8 {
            0 => event("BackOff", i * 5),
            1 => event("Started", i * 97),
            _ => event(["Pulled", "Created", "Scheduled", "Killing"][i % 4], i),
        })
        .collect();
    group.throughput(Throughput::Elements(CHUNK as u64));
    group.bench_function("track_events_100k_failing", |b| {
        b.iter(|| tracker.apply(tracker.signals(black_box(&mix))));
    });
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function("render_100k_failing", |b| {
        b.iter(|| black_box(tracker.render()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
