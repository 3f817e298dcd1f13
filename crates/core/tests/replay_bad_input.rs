//! Bad input to the replay source and the normalizer: each problem is counted and
//! located by line, the rest of the stream goes on, nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::sync::Arc;

use kev_core::pipeline::Pipeline;
use kev_core::source::replay::ReplayStats;
use kev_core::{
    DefaultNormalizer, EventSource, MemoryStore, NormalizeConfig, RawEvent, ReplaySource,
    SourceError, SourceItem, Store,
};
use tokio_util::sync::CancellationToken;

/// Replays `input`; returns the names read, the fatal error if any, and the stats.
async fn replay(name: &str, input: Vec<u8>) -> (Vec<String>, Option<SourceError>, ReplayStats) {
    let mut source = ReplaySource::from_reader(name, std::io::Cursor::new(input));
    source.start(None).await.unwrap();
    let mut names = Vec::new();
    let mut fatal = None;
    while let Some(item) = source.next().await {
        match item {
            Ok(SourceItem::Event {
                raw: RawEvent::Kube(k),
                ..
            }) => names.push(k.metadata.name.unwrap_or_default()),
            Ok(_) => {}
            Err(e) => {
                fatal = Some(e);
                break;
            }
        }
    }
    (names, fatal, source.stats())
}

fn issues(stats: &ReplayStats) -> Vec<(String, &'static str)> {
    stats
        .issues
        .iter()
        .map(|i| (i.location.clone(), i.reason))
        .collect()
}

fn line(name: &str) -> String {
    format!("{{\"metadata\":{{\"name\":\"{name}\"}},\"involvedObject\":{{\"kind\":\"Pod\"}}}}\n")
}

#[tokio::test]
async fn malformed_json_lines_are_skipped_with_their_line() {
    let input = [
        line("a"),
        "{\"metadata\": {\"name\": \"b\"\n".into(),
        line("c"),
        "not json at all\n".into(),
        "{\"metadata\": {\"name\": tru}, \"involvedObject\": {}}\n".into(),
        line("d"),
    ]
    .concat();
    let (names, fatal, stats) = replay("bad.jsonl", input.into_bytes()).await;
    assert_eq!(names, ["a", "c", "d"]);
    assert!(fatal.is_none());
    assert_eq!(
        issues(&stats),
        [
            ("bad.jsonl: line 2".into(), "malformed_json"),
            ("bad.jsonl: line 4".into(), "malformed_json"),
            ("bad.jsonl: line 5".into(), "malformed_json"),
        ]
    );
    assert_eq!(stats.errors, 3);
    assert_eq!(stats.items, 6);
}

#[tokio::test]
async fn objects_that_are_not_events_are_counted() {
    let input = [
        line("a"),
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},\"spec\":{}}\n".into(),
        "[42, \"text\", {\"metadata\":{\"name\":\"b\"},\"involvedObject\":{}}]\n".into(),
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"too old resource version\"}}\n"
            .into(),
        line("c"),
    ]
    .concat();
    let (names, fatal, stats) = replay("mixed.jsonl", input.into_bytes()).await;
    assert_eq!(names, ["a", "b", "c"]);
    assert!(fatal.is_none());
    assert_eq!(
        issues(&stats),
        [
            ("mixed.jsonl: line 2".into(), "not_an_event"),
            ("mixed.jsonl: line 3".into(), "not_an_object"),
            ("mixed.jsonl: line 3".into(), "not_an_object"),
            ("mixed.jsonl: line 4".into(), "watch_error"),
        ]
    );
}

#[tokio::test]
async fn invalid_utf8_is_replaced_counted_and_located() {
    let mut input = line("a").into_bytes();
    input.extend_from_slice(b"{\"metadata\":{\"name\":\"b\"},\"involvedObject\":{},\"message\":\"bad \xff\xfe byte\"}\n");
    input.extend_from_slice(line("c").as_bytes());
    let mut source = ReplaySource::from_reader("utf8.jsonl", std::io::Cursor::new(input));
    source.start(None).await.unwrap();
    let mut messages = Vec::new();
    while let Some(item) = source.next().await {
        if let SourceItem::Event {
            raw: RawEvent::Kube(k),
            ..
        } = item.unwrap()
        {
            messages.push(k.message.unwrap_or_default());
        }
    }
    assert_eq!(messages, ["", "bad \u{fffd}\u{fffd} byte", ""]);
    let stats = source.stats();
    assert_eq!(
        issues(&stats),
        [("utf8.jsonl: line 2".into(), "invalid_utf8")]
    );

    // In a pretty-printed List, the line is the one holding the bad byte.
    let mut list =
        b"{\"items\": [\n  {\"metadata\": {\"name\": \"a\"},\n   \"message\": \"".to_vec();
    list.extend_from_slice(b"\xc3(\"}\n]}\n");
    let (names, fatal, stats) = replay("list.json", list).await;
    assert_eq!(names, ["a"]);
    assert!(fatal.is_none());
    assert_eq!(
        issues(&stats),
        [("list.json: line 3".into(), "invalid_utf8")]
    );

    // And in YAML.
    let yaml = b"metadata:\n  name: a\nmessage: \"\xff\"\ninvolvedObject: {}\n".to_vec();
    let (names, _, stats) = replay("e.yaml", yaml).await;
    assert_eq!(names, ["a"]);
    assert_eq!(issues(&stats), [("e.yaml: line 3".into(), "invalid_utf8")]);
}

#[tokio::test]
async fn a_broken_value_in_a_pretty_stream_is_skipped_to_the_next_value() {
    let input = "{\n  \"metadata\": {\"name\": \"a\"}\n}\n{\n  \"metadata\": {\"name\": \"b\"}\n  \"involvedObject\": {}\n}\n{\n  \"metadata\": {\"name\": \"c\"}\n}\n";
    let (names, fatal, stats) = replay("watch.json", input.into()).await;
    assert_eq!(names, ["a", "c"]);
    assert!(fatal.is_none());
    assert_eq!(
        issues(&stats),
        [("watch.json: line 6".into(), "malformed_json")]
    );
    assert!(
        stats.issues[0].detail.contains("starts at line 4"),
        "{:?}",
        stats.issues[0]
    );
}

#[tokio::test]
async fn a_broken_item_in_a_list_resumes_at_the_next_item() {
    let input = "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"metadata\": {\"name\": \"a\"}},\n    {\"metadata\": {\"name\": \"b\"},, }\n    {\"metadata\": {\"name\": \"c\"}}\n  ]\n}\n";
    let (names, fatal, stats) = replay("events.json", input.into()).await;
    assert_eq!(names, ["a", "c"]);
    assert!(fatal.is_none());
    assert_eq!(
        issues(&stats),
        [("events.json: line 5".into(), "malformed_json")]
    );
}

#[tokio::test]
async fn unrecoverable_syntax_ends_with_an_error_naming_file_and_line() {
    let input = "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"metadata\": {\"name\": \"a\"}},\n    {\"metadata\": {\"name\": \"b\"},, }\n  ]\n}\n";
    let (names, fatal, stats) = replay("events.json", input.into()).await;
    assert_eq!(names, ["a"]);
    let err = fatal.expect("a fatal error").to_string();
    assert!(err.contains("events.json: line 5"), "{err}");
    assert!(err.contains("expected a key"), "{err}");
    assert_eq!(stats.errors, 1);

    let truncated = "[\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": {\"na";
    let (names, fatal, _) = replay("cut.json", truncated.into()).await;
    assert_eq!(names, ["a"]);
    let err = fatal.expect("a fatal error").to_string();
    assert!(err.contains("cut.json: line 3"), "{err}");
    assert!(err.contains("ends inside a JSON value"), "{err}");
}

#[tokio::test]
async fn a_malformed_yaml_document_does_not_stop_the_stream() {
    let input = "metadata:\n  name: a\ninvolvedObject: {}\n---\nmetadata: [unclosed\n---\n- just\n- a list\n---\nmetadata:\n  name: b\ninvolvedObject: {}\n";
    let (names, fatal, stats) = replay("w.yaml", input.into()).await;
    assert_eq!(names, ["a", "b"]);
    assert!(fatal.is_none());
    let got = issues(&stats);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, "malformed_yaml");
    assert!(got[0].0.starts_with("w.yaml: line "), "{got:?}");
    assert_eq!(got[1], ("w.yaml: line 7".into(), "not_an_object"));
}

#[tokio::test]
async fn normalizer_errors_and_huge_messages_through_the_pipeline() {
    let huge = "é".repeat(1 << 19); // 1 MiB of two-byte characters
    let input = [
        line("a"),
        "{\"kind\":\"Event\",\"metadata\":{\"name\":\"no-object\"},\"message\":\"m\"}\n".into(),
        format!(
            "{{\"metadata\":{{\"name\":\"big\"}},\"involvedObject\":{{\"kind\":\"Pod\"}},\"message\":\"{huge}\"}}\n"
        ),
        "{\"metadata\":{\"name\":\"bad-time\"},\"involvedObject\":{},\"lastTimestamp\":\"noon\"}\n".into(),
        line("z"),
    ]
    .concat();
    let source = ReplaySource::from_reader("p.jsonl", std::io::Cursor::new(input));
    let normalizer = DefaultNormalizer::new(&NormalizeConfig::default()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let report = Pipeline::new(Box::new(source), Arc::new(normalizer), store.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.received, 5);
    assert_eq!(
        report.normalize_errors, 2,
        "no involvedObject, bad lastTimestamp"
    );
    assert_eq!(report.stored, 3);
    let stored = store.read_log(1, 10).unwrap();
    let big = stored.iter().find(|s| s.event.name == "big").unwrap();
    assert!(big.event.truncated);
    assert_eq!(big.event.message.len(), 4096);
    assert_eq!(
        stored
            .iter()
            .map(|s| s.event.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "big", "z"]
    );
}
