//! Webhook sink throughput to a local axum server, batches of 100 events:
//! `cargo bench -p kev-sinks --bench webhook`. Goal: ≥ 20 000 events/s.

// A panic in a bench is a failed bench, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/receiver.rs"]
mod receiver;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::Sink;
use kev_core::testkit::sink::sample_events;
use kev_sinks::webhook::WebhookSinkConfig;

fn webhook(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(receiver::Receiver::start_unrecorded());
    let batch = sample_events(1, 100);
    let mut group = c.benchmark_group("webhook_sink");
    group.throughput(Throughput::Elements(batch.len() as u64));
    for (label, as_array) in [
        ("batch_array_100", true),
        ("one_request_per_event_100", false),
    ] {
        let sink = WebhookSinkConfig::new(receiver.url("/bench"))
            .batch(as_array)
            .build()
            .unwrap();
        group.bench_function(label, |b| {
            b.iter(|| {
                rt.block_on(sink.deliver(kev_core::Batch::new(&batch)))
                    .unwrap()
            });
        });
    }
    group.finish();
    drop(receiver);
}

criterion_group!(benches, webhook);
criterion_main!(benches);
