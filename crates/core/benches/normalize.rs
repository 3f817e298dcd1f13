//! Normalize from JSON bytes: a typical ~1 KiB core/v1 Event (as the API server
//! returns it, with managedFields), its events.k8s.io/v1 form, and one whose message
//! needs redaction. Goal: ≥ 200k events/s on one core.
//!
//! `redact_1KiB` is the redaction alone on a 1 KiB message: one with no trigger word
//! (the Aho-Corasick prefilter only; goal ≤ 1 µs), one that mentions secrets without
//! holding one (`secret "db-creds" not found`) and one with a password and a bearer token.
//!
//! Also the replay source reading 10k such events (JSON lines, and a pretty-printed
//! `kubectl get events -o json` List) and normalizing them: the input side of
//! `kev run --source replay:…`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a bench is a failed setup

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kev_core::normalize::Redactor;
use kev_core::{
    DefaultNormalizer, EventSource, NormalizeConfig, Normalizer, RawEvent, ReplaySource, SourceItem,
};

const CORE_V1: &str = r#"{"kind":"Event","apiVersion":"v1","metadata":{"name":"checkout-api-7d9f8c6b5-x2kqp.17f3a1b2c3d4e5f6","namespace":"shop","uid":"8ff136be-d0ba-4a62-8a88-459ee38d7448","resourceVersion":"953924","creationTimestamp":"2024-05-01T10:00:00Z","managedFields":[{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2024-05-01T10:05:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:count":{},"f:firstTimestamp":{},"f:involvedObject":{},"f:lastTimestamp":{},"f:message":{},"f:reason":{},"f:source":{"f:component":{},"f:host":{}},"f:type":{}}}]},"involvedObject":{"kind":"Pod","namespace":"shop","name":"checkout-api-7d9f8c6b5-x2kqp","uid":"c31fdeb8-cb66-11e9-990f-42010a800218","apiVersion":"v1","resourceVersion":"49798867","fieldPath":"spec.containers{checkout-api}"},"reason":"BackOff","message":"Back-off restarting failed container checkout-api in pod checkout-api-7d9f8c6b5-x2kqp_shop(c31fdeb8-cb66-11e9-990f-42010a800218)","source":{"component":"kubelet","host":"gke-prod-eu-1-default-pool-3f2a1b0c-9xkq"},"firstTimestamp":"2024-05-01T10:00:00Z","lastTimestamp":"2024-05-01T10:05:00Z","count":12,"type":"Warning","eventTime":null,"reportingComponent":"kubelet","reportingInstance":"gke-prod-eu-1-default-pool-3f2a1b0c-9xkq"}"#;

const EVENTS_V1: &str = r#"{"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"name":"checkout-api-7d9f8c6b5-x2kqp.17f3a1b2c3d4e5f6","namespace":"shop","uid":"8ff136be-d0ba-4a62-8a88-459ee38d7448","resourceVersion":"953924","creationTimestamp":"2024-05-01T10:00:00Z"},"eventTime":"2024-05-01T10:00:00.123456Z","series":{"count":12,"lastObservedTime":"2024-05-01T10:05:00.654321Z"},"reportingController":"kubelet","reportingInstance":"gke-prod-eu-1-default-pool-3f2a1b0c-9xkq","action":"Restarting","reason":"BackOff","regarding":{"kind":"Pod","namespace":"shop","name":"checkout-api-7d9f8c6b5-x2kqp","uid":"c31fdeb8-cb66-11e9-990f-42010a800218","apiVersion":"v1","resourceVersion":"49798867","fieldPath":"spec.containers{checkout-api}"},"note":"Back-off restarting failed container checkout-api in pod checkout-api-7d9f8c6b5-x2kqp_shop(c31fdeb8-cb66-11e9-990f-42010a800218)","type":"Warning"}"#;

fn bench(c: &mut Criterion) {
    let n = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
    let with_secret = CORE_V1.replace(
        "Back-off restarting failed container",
        "Liveness probe failed: GET /healthz with Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2lnbmF0dXJl",
    );
    let mut group = c.benchmark_group("normalize_json");
    group.throughput(Throughput::Elements(1));
    for (name, json) in [
        ("core_v1_1KiB", CORE_V1),
        ("events_k8s_io_v1", EVENTS_V1),
        ("core_v1_with_secret", with_secret.as_str()),
    ] {
        assert!(n.normalize_json(json.as_bytes()).is_ok(), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| n.normalize_json(std::hint::black_box(json.as_bytes())))
        });
    }
    group.finish();
}

/// `line` repeated to 1 KiB.
fn kib(line: &str) -> String {
    line.repeat(1024 / line.len() + 1)[..1024].to_owned()
}

fn bench_redact(c: &mut Criterion) {
    let r = Redactor::default();
    let clean = kib(
        "Back-off restarting failed container checkout-api in pod checkout-api-7d9f8c6b5-x2kqp_shop(c31fdeb8-cb66-11e9-990f-42010a800218); ",
    );
    let mentions = kib(
        r#"MountVolume.SetUp failed for volume "default-token-x7k2p" : secret "db-creds" not found; "#,
    );
    let with_secret = format!(
        "panic: connect with password=hunter2 Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2ln; {clean}"
    )[..1024]
        .to_owned();
    assert!(r.redact(&clean).is_none() && r.redact(&mentions).is_none());
    assert!(
        r.redact(&with_secret)
            .is_some_and(|m| !m.contains("hunter2"))
    );
    let mut group = c.benchmark_group("redact_1KiB");
    group.throughput(Throughput::Bytes(1024));
    for (name, message) in [
        ("no_trigger", &clean),
        ("mentions_secrets", &mentions),
        ("with_secrets", &with_secret),
    ] {
        group.bench_function(name, |b| b.iter(|| r.redact(std::hint::black_box(message))));
    }
    group.finish();
}

const REPLAY_EVENTS: usize = 10_000;

/// Replays `input` and normalizes every event; returns how many were normalized.
async fn replay(input: std::sync::Arc<Vec<u8>>, n: &DefaultNormalizer) -> usize {
    let mut source = ReplaySource::from_reader("bench", std::io::Cursor::new(input.to_vec()));
    source.start(None).await.unwrap();
    let mut normalized = 0;
    while let Some(item) = source.next().await {
        if let Ok(SourceItem::Event {
            raw: RawEvent::Kube(raw),
            ..
        }) = item
            && n.normalize(*raw).is_ok()
        {
            normalized += 1;
        }
    }
    normalized
}

fn bench_replay(c: &mut Criterion) {
    let n = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let lines: Vec<u8> = std::iter::repeat_n(format!("{CORE_V1}\n"), REPLAY_EVENTS)
        .collect::<String>()
        .into_bytes();
    let item: serde_json::Value = serde_json::from_str(CORE_V1).unwrap();
    let list = serde_json::json!({
        "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
        "items": vec![item; REPLAY_EVENTS],
    });
    let list = serde_json::to_vec_pretty(&list).unwrap();

    let mut group = c.benchmark_group("replay_and_normalize");
    group.throughput(Throughput::Elements(REPLAY_EVENTS as u64));
    group.sample_size(20);
    for (name, input) in [("json_lines_10k", lines), ("kubectl_list_10k", list)] {
        let input = std::sync::Arc::new(input);
        assert_eq!(runtime.block_on(replay(input.clone(), &n)), REPLAY_EVENTS);
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(replay(input.clone(), &n)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_redact, bench_replay);
criterion_main!(benches);
