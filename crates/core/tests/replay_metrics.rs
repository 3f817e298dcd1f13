//! The replay source counts bad input in `kev_source_errors_total{source,reason}`.
//! Its own test binary: the worker thread reports to the global recorder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use kev_core::metrics::SOURCE_ERRORS_TOTAL;
use kev_core::{EventSource, ReplaySource};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[tokio::test]
async fn source_errors_are_counted_by_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();

    let mut input =
        b"{\"metadata\":{\"name\":\"a\"},\"involvedObject\":{}}\nnot json\n{\"kind\":\"Pod\"}\n"
            .to_vec();
    input.extend_from_slice(
        b"{\"metadata\":{\"name\":\"\xff\"},\"involvedObject\":{}}\n[1]\n{oops\n",
    );
    let mut source = ReplaySource::from_reader("m.jsonl", std::io::Cursor::new(input));
    source.start(None).await.unwrap();
    while let Some(item) = source.next().await {
        item.unwrap();
    }

    let mut got: Vec<(String, String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == SOURCE_ERRORS_TOTAL)
        .map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let DebugValue::Counter(n) = value else {
                panic!("not a counter")
            };
            (labels[0].clone(), labels[1].clone(), n)
        })
        .collect();
    got.sort();
    let want = [
        ("source=replay", "reason=invalid_utf8", 1),
        ("source=replay", "reason=malformed_json", 2),
        ("source=replay", "reason=not_an_event", 1),
        ("source=replay", "reason=not_an_object", 1),
    ]
    .map(|(a, b, n)| (a.to_owned(), b.to_owned(), n));
    assert_eq!(got, want);
}
