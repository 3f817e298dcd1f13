//! Property: whatever the events hold (brackets, quotes, escapes, any Unicode in
//! messages), every format the replay source reads gives back exactly the events
//! written, in order, with no error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use kev_core::{EventSource, RawEvent, ReplaySource, SourceItem};
use proptest::prelude::*;
use serde_json::{Value, json};

fn event(name: &str, message: &str, count: u32) -> Value {
    json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("u-{name}")},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "message": message, "count": count,
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:01Z"
    })
}

/// The input in each format, with a label for failure messages.
fn encodings(events: &[Value]) -> Vec<(&'static str, String)> {
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": events});
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    let pretty_stream: String = events
        .iter()
        .map(|e| format!("{}\n", serde_json::to_string_pretty(e).unwrap()))
        .collect();
    let watch: String = events
        .iter()
        .map(|e| {
            let record = json!({"type": "ADDED", "object": e});
            format!("{}\n", serde_json::to_string_pretty(&record).unwrap())
        })
        .collect();
    let yaml_docs: String = events
        .iter()
        .map(|e| {
            format!(
                "---\n# {{\"time\":\"x\"}}\n{}",
                serde_norway::to_string(e).unwrap()
            )
        })
        .collect();
    vec![
        ("pretty list", serde_json::to_string_pretty(&list).unwrap()),
        ("one-line list", list.to_string()),
        (
            "pretty array",
            serde_json::to_string_pretty(&events).unwrap(),
        ),
        ("one-line array", Value::Array(events.to_vec()).to_string()),
        ("json lines", lines),
        ("pretty stream", pretty_stream),
        ("watch stream", watch),
        ("yaml list", serde_norway::to_string(&list).unwrap()),
        ("yaml documents", yaml_docs),
    ]
}

fn replay(input: String) -> (Vec<(String, String, i64)>, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut source = ReplaySource::from_reader("p", std::io::Cursor::new(input));
        source.start(None).await.unwrap();
        let mut got = Vec::new();
        while let Some(item) = source.next().await {
            if let SourceItem::Event {
                raw: RawEvent::Kube(k),
                ..
            } = item.unwrap()
            {
                got.push((
                    k.metadata.name.unwrap_or_default(),
                    k.message.unwrap_or_default(),
                    k.count.unwrap_or_default(),
                ));
            }
        }
        (got, source.stats().errors)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_format_round_trips(
        events in prop::collection::vec(
            ("[a-z0-9][a-z0-9.-]{0,30}", "\\PC{0,80}|[\\[\\]{}\",:\\\\ ]{0,20}", 1u32..100_000),
            0..12,
        )
    ) {
        let values: Vec<Value> = events.iter().map(|(n, m, c)| event(n, m, *c)).collect();
        let want: Vec<(String, String, i64)> = events
            .iter()
            .map(|(n, m, c)| (n.clone(), m.clone(), i64::from(*c)))
            .collect();
        for (format, input) in encodings(&values) {
            let (got, errors) = replay(input);
            prop_assert_eq!(errors, 0, "{}", format);
            prop_assert_eq!(&got, &want, "{}", format);
        }
    }
}
