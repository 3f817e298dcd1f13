//! OTLP, Loki, Elasticsearch and Kafka sink throughput to local receivers that decode
//! every request (protobuf, snappy, NDJSON with the bulk receiver's mapping checks, Kafka
//! record batches with their CRC) in the same process, batches of 500 events:
//! `cargo bench -p kev-sinks --bench platform_sinks`. Goal: ≥ 50 000 events/s each.

// A panic in a bench is a failed bench, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/es_receiver.rs"]
mod es_receiver;
#[path = "../tests/support/kafka_broker.rs"]
mod kafka_broker;
#[path = "../tests/support/loki_receiver.rs"]
mod loki_receiver;
#[path = "../tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, Sink};
use kev_sinks::elasticsearch::ElasticsearchSinkConfig;
use kev_sinks::kafka::{KafkaCompression, KafkaSinkConfig};
use kev_sinks::loki::LokiSinkConfig;
use kev_sinks::otlp::OtlpSinkConfig;

const BATCH: usize = 500;

fn platform_sinks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let otlp = rt.block_on(otlp_receiver::OtlpReceiver::start_unrecorded());
    let loki = rt.block_on(loki_receiver::LokiReceiver::start_unrecorded());
    // The same documents each time: the receiver's index stays BATCH documents large.
    let es = rt.block_on(es_receiver::EsReceiver::start());
    let kafka = rt.block_on(kafka_broker::Broker::start_unrecorded("events", 6));
    let batch = sample_events(1, BATCH);
    let sinks: [(&str, Box<dyn Sink>); 5] = [
        (
            "otlp_http_protobuf_500",
            Box::new(OtlpSinkConfig::new(otlp.url()).build().unwrap()),
        ),
        (
            "loki_protobuf_snappy_500",
            Box::new(LokiSinkConfig::new(loki.url()).build().unwrap()),
        ),
        (
            "elasticsearch_bulk_500",
            Box::new(ElasticsearchSinkConfig::new(es.url()).build().unwrap()),
        ),
        (
            "kafka_6_partitions_500",
            Box::new(
                KafkaSinkConfig::new(vec![kafka.bootstrap()], "events")
                    .build()
                    .unwrap(),
            ),
        ),
        (
            "kafka_6_partitions_snappy_500",
            Box::new(
                KafkaSinkConfig {
                    compression: KafkaCompression::Snappy,
                    ..KafkaSinkConfig::new(vec![kafka.bootstrap()], "events")
                }
                .build()
                .unwrap(),
            ),
        ),
    ];
    let mut group = c.benchmark_group("platform_sinks");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (label, sink) in &sinks {
        group.bench_function(*label, |b| {
            b.iter(|| rt.block_on(sink.deliver(Batch::new(&batch))).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, platform_sinks);
criterion_main!(benches);
