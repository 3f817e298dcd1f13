//! Filter and rate limit decisions per second on one core, with 100k tracked keys.
//!
//! `cargo bench -p kev-core --bench limit`; the figure to read is the throughput of
//! `route_stage/filter_then_limit` (goal: ≥ 2M decisions/s).
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time:
//! "per second on one core" is per second of one core's work, and the figure stays
//! meaningful on a machine shared with other jobs, where wall time counts the time the
//! thread waited for a core.

// The bench's own fixed config: if it is wrong, stopping with its message is right.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::{
    Event, EventType, Filter, FilterConfig, ObjectRef, RateLimitConfig, RateLimiter,
    SelectorFilter, SystemClock, TokenBucketLimiter,
};

const KEYS: usize = 100_000;
/// Events per measured iteration: enough to make the loop overhead negligible.
const CHUNK: usize = 1024;

const REASONS: [&str; 8] = [
    "BackOff",
    "Unhealthy",
    "FailedScheduling",
    "FailedMount",
    "Pulled",
    "Created",
    "Started",
    "Scheduled",
];

/// 100k events about 100k distinct (object, reason) keys, shaped like a busy cluster:
/// a mix of types, reasons and namespaces, messages of a typical length.
fn events() -> Vec<Event> {
    (0..KEYS)
        .map(|i| {
            let namespace = if i.is_multiple_of(20) {
                "kube-system".to_owned()
            } else {
                format!("team-{}", i % 50)
            };
            let reason = REASONS[i % REASONS.len()];
            Event {
                cluster: "prod-eu-1".into(),
                namespace: namespace.clone(),
                name: format!("web-{i}.17a9c2f3b4d5e6f7"),
                r#type: if i.is_multiple_of(3) {
                    EventType::Normal
                } else {
                    EventType::Warning
                },
                reason: reason.into(),
                message: format!(
                    "Back-off restarting failed container app in pod web-{i}_{namespace}(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)"
                ),
                regarding: ObjectRef {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    namespace,
                    name: format!("web-{i}"),
                    uid: format!("0f1e2d3c-4b5a-6978-8796-{i:012}"),
                    ..Default::default()
                },
                reporting_controller: "kubelet".into(),
                count: (i % 10) as u32 + 1,
                ..Default::default()
            }
        })
        .collect()
}

fn filter() -> SelectorFilter {
    let config: FilterConfig = serde_norway::from_str(
        r"
match:
  - type: Warning
  - reason: [Scheduled, Killing]
drop:
  - namespace: kube-system
  - message: (?i)readiness probe failed
  - {kind: Node, not: {min_count: 3}}
",
    )
    .expect("bench filter config");
    SelectorFilter::compile(&config).expect("bench filter compiles")
}

/// A limiter of capacity 100k that already tracks all 100k keys.
fn warm_limiter(events: &[Event]) -> TokenBucketLimiter {
    let config = RateLimitConfig {
        per_minute: 10.0,
        burst: 5,
        // The global cap is checked on every decision but set high enough not to refuse
        // the warm-up below, which must track every key.
        global_per_minute: Some(6_000_000.0),
        global_burst: Some(KEYS as u32),
        max_keys: KEYS,
        ..Default::default()
    };
    let mut limiter = TokenBucketLimiter::new(&config, "bench", Arc::new(SystemClock::default()))
        .expect("bench limiter config");
    for e in events {
        limiter.decide(e);
    }
    assert_eq!(limiter.tracked_keys(), KEYS);
    limiter
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let events = events();
    let filter = filter();
    let mut limiter = warm_limiter(&events);
    let mut group = c.benchmark_group("route_stage");
    group
        .throughput(Throughput::Elements(CHUNK as u64))
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));

    let mut at = 0;
    let mut next_chunk = || {
        let chunk = &events[at..at + CHUNK];
        at = (at + CHUNK) % (KEYS - KEYS % CHUNK);
        chunk
    };

    group.bench_function("filter", |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for e in next_chunk() {
                kept += usize::from(filter.keep(black_box(e)));
            }
            kept
        });
    });
    group.bench_function("limit", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for e in next_chunk() {
                allowed += usize::from(limiter.decide(black_box(e)) == kev_core::Decision::Allow);
            }
            allowed
        });
    });
    group.bench_function("filter_then_limit", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for e in next_chunk() {
                if filter.keep(black_box(e)) {
                    allowed += usize::from(limiter.decide(e) == kev_core::Decision::Allow);
                }
            }
            allowed
        });
    });
    group.finish();
    assert!(limiter.tracked_keys() <= KEYS);
}

/// Criterion measurement: CPU time of the measuring thread, in nanoseconds.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

/// Formats CPU nanoseconds like criterion's wall time (per element throughput only).
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iter = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        let per_sec = per_iter * 1e9 / typical;
        let (div, unit) = match per_sec {
            r if r < 1e3 => (1.0, " elem/s"),
            r if r < 1e6 => (1e3, "Kelem/s"),
            r if r < 1e9 => (1e6, "Melem/s"),
            _ => (1e9, "Gelem/s"),
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iter * 1e9 / *v / div);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
