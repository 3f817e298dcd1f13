//! The replay source reads every format a user may have at hand, numbers items for
//! its checkpoint, resumes from one, and keeps reading while its input is open.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::io::Write;

use kev_core::store::Checkpoint;
use kev_core::{EventSource, RawEvent, ReplaySource, SourceItem};

/// Names (`metadata.name`, or `name` of kev events) in input order, and the positions.
async fn replay_names(input: &str, checkpoint: Option<&str>) -> (Vec<String>, Vec<String>) {
    let mut source = ReplaySource::from_reader("input", std::io::Cursor::new(input.to_owned()));
    let cp = checkpoint.map(|p| Checkpoint {
        source: source.id().to_owned(),
        position: p.to_owned(),
    });
    source.start(cp).await.unwrap();
    let mut names = Vec::new();
    let mut positions = Vec::new();
    while let Some(item) = source.next().await {
        match item.unwrap() {
            SourceItem::Event {
                raw, checkpoint, ..
            } => {
                names.push(match raw {
                    RawEvent::Kube(k) => k.metadata.name.unwrap_or_default(),
                    RawEvent::Normalized(e) => format!("kev:{}", e.name),
                });
                positions.push(checkpoint.unwrap().position);
            }
            SourceItem::Progress(cp) => positions.push(format!("progress:{}", cp.position)),
        }
    }
    assert_eq!(source.stats().errors, 0, "{:?}", source.stats().issues);
    (names, positions)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const LIST: &str = r#"{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "message": "has ] and } and \" inside"
        },
        {
            "metadata": {"name": "b"},
            "involvedObject": {"kind": "Pod", "name": "p"}
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
"#;

#[tokio::test]
async fn kubectl_list_json() {
    let (n, pos) = replay_names(LIST, None).await;
    assert_eq!(n, names(&["a", "b"]));
    assert_eq!(pos, names(&["1", "2"]));
}

#[tokio::test]
async fn watch_dump_with_output_watch_events_skips_deleted() {
    let input = r#"{
    "type": "ADDED",
    "object": {"kind": "Event", "metadata": {"name": "a"}, "involvedObject": {"kind": "Pod"}}
}
{
    "type": "MODIFIED",
    "object": {"kind": "Event", "metadata": {"name": "a2"}, "involvedObject": {"kind": "Pod"}}
}
{
    "type": "DELETED",
    "object": {"kind": "Event", "metadata": {"name": "gone"}, "involvedObject": {"kind": "Pod"}}
}
"#;
    let (n, pos) = replay_names(input, None).await;
    assert_eq!(n, names(&["a", "a2"]));
    // The trailing DELETED record still moves the checkpoint.
    assert_eq!(pos, names(&["1", "2", "progress:3"]));
}

#[tokio::test]
async fn pretty_bare_objects_one_after_another() {
    let input = "{\n  \"metadata\": {\"name\": \"a\"},\n  \"involvedObject\": {}\n}\n{\n  \"metadata\": {\"name\": \"b\"},\n  \"involvedObject\": {}\n}\n";
    assert_eq!(replay_names(input, None).await.0, names(&["a", "b"]));
}

#[tokio::test]
async fn json_lines_and_a_bare_array() {
    let lines = "{\"metadata\":{\"name\":\"a\"},\"involvedObject\":{}}\n\n{\"metadata\":{\"name\":\"b\"},\"involvedObject\":{}}\n";
    assert_eq!(replay_names(lines, None).await.0, names(&["a", "b"]));
    let array = "[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]";
    assert_eq!(replay_names(array, None).await.0, names(&["a", "b"]));
    let pretty_array =
        "[\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": {\"name\": \"b\"}}\n]\n";
    assert_eq!(replay_names(pretty_array, None).await.0, names(&["a", "b"]));
    let one_line_list = "{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}\n{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"b\"}}]}\n";
    assert_eq!(
        replay_names(one_line_list, None).await.0,
        names(&["a", "b"])
    );
}

#[tokio::test]
async fn kev_output_replays_as_normalized_events() {
    let e = kev_core::Event {
        name: "x".into(),
        uid: "u".into(),
        resource_version: "1".into(),
        count: 2,
        ..Default::default()
    };
    let line = serde_json::to_string(&e).unwrap();
    let input = format!("{line}\n{line}\n");
    let mut source = ReplaySource::from_reader("kev.jsonl", std::io::Cursor::new(input));
    source.start(None).await.unwrap();
    let mut got = Vec::new();
    while let Some(item) = source.next().await {
        if let SourceItem::Event {
            raw: RawEvent::Normalized(ev),
            location,
            ..
        } = item.unwrap()
        {
            got.push((*ev, location));
        }
    }
    assert_eq!(
        got,
        vec![
            (e.clone(), "kev.jsonl: line 1".to_owned()),
            (e, "kev.jsonl: line 2".to_owned())
        ]
    );
}

#[tokio::test]
async fn yaml_list_and_multi_document_streams() {
    let list = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: a\n  involvedObject:\n    kind: Pod\n- metadata:\n    name: b\n  involvedObject: {}\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
    assert_eq!(replay_names(list, None).await.0, names(&["a", "b"]));
    let docs = "---\n# {\"time\":\"2021-05-05T16:22:15.808165851Z\",\"style\":\"event\",\"kind\":\"Event\"}\napiVersion: v1\nkind: Event\nmetadata:\n  name: a\ninvolvedObject: {}\n---\n# a comment-only document\n---\nmetadata:\n  name: b\ninvolvedObject: {}\n...\n--- \ntype: DELETED\nobject:\n  metadata:\n    name: c\n---\ntype: ADDED\nobject:\n  metadata:\n    name: d\n  involvedObject: {}\n";
    let (n, pos) = replay_names(docs, None).await;
    assert_eq!(n, names(&["a", "b", "d"]));
    assert_eq!(pos, names(&["1", "2", "4"]));
}

#[tokio::test]
async fn yaml_list_items_carry_their_own_line() {
    let list = "apiVersion: v1\nitems:\n- metadata:\n    name: a\n  involvedObject: {}\n- metadata:\n    name: b\n  involvedObject: {}\nkind: List\n";
    let mut source = ReplaySource::from_reader("events.yaml", std::io::Cursor::new(list));
    source.start(None).await.unwrap();
    let mut locations = Vec::new();
    while let Some(item) = source.next().await {
        if let SourceItem::Event { location, .. } = item.unwrap() {
            locations.push(location);
        }
    }
    assert_eq!(
        locations,
        ["events.yaml: line 3", "events.yaml: line 6"].map(String::from)
    );
}

#[tokio::test]
async fn a_checkpoint_skips_the_items_already_read() {
    let (all, _) = replay_names(LIST, None).await;
    let (rest, pos) = replay_names(LIST, Some("1")).await;
    assert_eq!(rest, all[1..].to_vec());
    assert_eq!(pos, names(&["2"]));
    let (none, pos) = replay_names(LIST, Some("2")).await;
    assert!(none.is_empty() && pos.is_empty());

    let mut source = ReplaySource::from_reader("x", std::io::Cursor::new(LIST));
    let err = source
        .start(Some(Checkpoint {
            source: "replay:x".into(),
            position: "abc".into(),
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kev_core::SourceError::BadCheckpoint { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_file_is_an_open_error() {
    let err = ReplaySource::open("/nonexistent/events.json").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/events.json"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn reads_while_the_input_is_open_and_ends_when_it_closes() {
    let (reader, mut writer) = std::io::pipe().unwrap();
    let mut source = ReplaySource::from_reader("stdin", reader);
    source.start(None).await.unwrap();
    writeln!(
        writer,
        "{{\"metadata\":{{\"name\":\"a\"}},\"involvedObject\":{{}}}}"
    )
    .unwrap();
    let first = source.next().await.unwrap().unwrap();
    assert!(matches!(first, SourceItem::Event { .. }));
    // Nothing more yet, and the source has not ended: it waits for input.
    let waiting = tokio::time::timeout(std::time::Duration::from_secs(5), source.next()).await;
    assert!(
        waiting.is_err(),
        "the source ended while its input was open"
    );
    writeln!(
        writer,
        "{{\"metadata\":{{\"name\":\"b\"}},\"involvedObject\":{{}}}}"
    )
    .unwrap();
    drop(writer);
    let mut rest = Vec::new();
    while let Some(item) = source.next().await {
        rest.push(item.unwrap());
    }
    assert_eq!(rest.len(), 1);
    assert_eq!(source.stats().events, 2);
}

#[tokio::test]
async fn a_big_list_replays_every_item() {
    // 20k events in one List: read through the framer in 64 KiB chunks.
    let mut input = String::from("{\"kind\":\"EventList\",\"items\":[\n");
    for i in 0..20_000 {
        if i > 0 {
            input.push_str(",\n");
        }
        input.push_str(&format!(
            "{{\"metadata\":{{\"name\":\"e{i}\"}},\"involvedObject\":{{\"kind\":\"Pod\"}},\"message\":\"{}\"}}",
            "m".repeat(200)
        ));
    }
    input.push_str("\n]}\n");
    let (n, _) = replay_names(&input, None).await;
    assert_eq!(n.len(), 20_000);
    assert_eq!(n[19_999], "e19999");
}
