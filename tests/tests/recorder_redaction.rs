//! The recorder's notes go through the same detectors as stored messages: every message
//! of kev-core's redaction corpus, recorded as a note through the real recorder and the
//! fake API server, reaches the API server without its secret, and every look-alike
//! arrives byte for byte.

mod recorder_support;

use kev_recorder::{EventRecorder, NewEvent, RecorderConfig};
use recorder_support::{env, live_events, pod};

const CORPUS: &str = include_str!("../../crates/core/tests/redaction_corpus.tsv");

/// (secret, or `None` for a look-alike, message) of every corpus line.
fn corpus() -> Vec<(Option<&'static str>, String)> {
    CORPUS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(
            |line| match line.split('\t').collect::<Vec<_>>().as_slice() {
                ["secret", _, secret, message] => (Some(*secret), message.replace("\\n", "\n")),
                ["keep", _, message] => (None, message.replace("\\n", "\n")),
                other => panic!("bad corpus line {other:?}"),
            },
        )
        .collect()
}

#[tokio::test]
async fn notes_lose_their_secrets_and_look_alikes_stay() {
    let e = env(RecorderConfig::default(), false).await;
    let cases = corpus();
    assert!(cases.len() >= 100, "{} corpus lines", cases.len());
    for (i, (_, message)) in cases.iter().enumerate() {
        let object = pod(&format!("p-{i}"));
        let published = e.recorder.record(NewEvent::warning(
            &object,
            "ConfigRejected",
            "Reconcile",
            message.clone(),
        ));
        assert!(published.is_accepted(), "case {i}: {published:?}");
    }
    e.recorder.close().await;
    let events = live_events(&e.server);
    assert_eq!(events.len(), cases.len());
    for event in &events {
        let name = event["regarding"]["name"].as_str().unwrap();
        let i: usize = name.trim_start_matches("p-").parse().unwrap();
        let note = event["note"].as_str().unwrap();
        match &cases[i] {
            (Some(secret), message) => {
                assert!(
                    !note.contains(secret),
                    "case {i}: {message:?} sent as {note:?}"
                );
                assert!(note.contains("[REDACTED]"), "case {i}: {note:?}");
            }
            (None, message) => assert_eq!(note, message, "case {i}: a look-alike changed"),
        }
    }
}
