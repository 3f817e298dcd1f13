//! Tests of the Slack sink against a local HTTP receiver standing in for an incoming
//! webhook and for the Web API (`chat.postMessage` answers 200 with `ok: false` for its
//! own errors), and of its config.

use std::time::Duration;

use kev_core::testkit::sink::sample_events;
use kev_core::{Batch, EventType, Sink, StoredEvent};
use serde_json::Value;

use super::*;
use crate::test_receiver::{Receiver, Reply};

fn events(n: usize) -> Vec<StoredEvent> {
    let mut events = sample_events(1, n);
    for (i, s) in events.iter_mut().enumerate() {
        let e = &mut s.event;
        e.cluster = "prod".into();
        e.namespace = "web".into();
        e.regarding.kind = "Pod".into();
        e.regarding.namespace = "web".into();
        e.regarding.name = format!("api-{i}");
        e.r#type = EventType::Warning;
        e.reason = "BackOff".into();
        e.message = format!("Back-off restarting failed container <api-{i}>");
        e.count = 7;
    }
    events
}

fn bodies(receiver: &Receiver) -> Vec<Value> {
    receiver
        .seen()
        .iter()
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect()
}

/// A webhook URL in a file, as a mounted Secret holds it.
fn webhook_file(receiver: &Receiver, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("slack-webhook");
    std::fs::write(&path, receiver.url("/services/T000/B000/s3cr3t\n")).unwrap();
    path
}

#[tokio::test]
async fn the_webhook_gets_one_block_kit_message_per_event() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SlackSinkConfig::webhook_file(webhook_file(&receiver, &dir))
        .ui_url("https://kev.example.com")
        .build()
        .unwrap();
    let events = events(2);
    sink.deliver(Batch::new(&events)).await.unwrap();

    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/services/T000/B000/s3cr3t");
    assert_eq!(seen[0].headers["content-type"], "application/json");
    assert_eq!(seen[0].authorization, None);
    let m = &bodies(&receiver)[1];
    assert_eq!(
        m["text"],
        "Warning BackOff on Pod web/api-1: Back-off restarting failed container <api-1>"
    );
    assert!(m.get("channel").is_none());
    let blocks = m["blocks"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["header", "section", "section", "actions"]);
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[0]["text"]["text"],
        ":warning: BackOff: Pod web/api-1"
    );
    assert_eq!(
        blocks[1]["text"]["text"],
        "Back-off restarting failed container &lt;api-1&gt;"
    );
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "*Namespace*\nweb",
            "*Object*\npod/api-1",
            "*Count*\n7",
            "*Cluster*\nprod"
        ]
    );
    assert_eq!(
        blocks[3]["elements"][0]["url"],
        "https://kev.example.com/objects/Pod/web/api-1"
    );
}

#[tokio::test]
async fn chat_post_message_sends_the_token_and_channel_and_reads_ok_false() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "xoxb-secret-token\n").unwrap();
    let sink = SlackSinkConfig::bot(&token, "C0123")
        .api_url(receiver.url("/api"))
        .build()
        .unwrap();
    let events = events(3);
    receiver.behave(|_| Reply {
        status: 200,
        body: Some(r#"{"ok":true,"channel":"C0123","ts":"1.2"}"#.into()),
        ..Default::default()
    });
    sink.deliver(Batch::new(&events)).await.unwrap();
    let seen = receiver.seen();
    assert_eq!(seen[0].path, "/api/chat.postMessage");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Bearer xoxb-secret-token")
    );
    assert_eq!(bodies(&receiver)[0]["channel"], "C0123");

    let answer_with = |error: &'static str| {
        move |s: &crate::test_receiver::Seen| {
            let n: usize = s.body.windows(5).filter(|w| w == b"api-1").count();
            let body = if n > 0 {
                format!(r#"{{"ok":false,"error":"{error}"}}"#)
            } else {
                r#"{"ok":true}"#.to_owned()
            };
            Reply {
                status: 200,
                body: Some(body),
                ..Default::default()
            }
        }
    };
    receiver.behave(answer_with("ratelimited"));
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(
        err.delivered, 1,
        "the first was posted; the route resends from the second"
    );
    assert_eq!(err.message, "Slack: ratelimited");

    for fatal in ["invalid_auth", "channel_not_found"] {
        receiver.behave(answer_with(fatal));
        let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
        assert!(!err.retryable, "{err}");
        assert_eq!(err.message, format!("Slack: {fatal}"));
    }

    receiver.behave(|_| Reply {
        status: 200,
        body: Some(r#"{"ok":false,"error":"echo xoxb-secret-token"}"#.into()),
        ..Default::default()
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(!err.message.contains("xoxb-secret-token"), "{err}");
}

#[tokio::test]
async fn http_faults_are_classified() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SlackSinkConfig::webhook_file(webhook_file(&receiver, &dir))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let events = events(2);
    receiver.behave(|_| Reply {
        status: 429,
        retry_after: Some("30".into()),
        body: Some("rate_limited".into()),
        ..Default::default()
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
    receiver.behave(|_| Reply::status(503));
    assert!(
        sink.deliver(Batch::new(&events))
            .await
            .unwrap_err()
            .retryable
    );
    receiver.behave(|_| Reply {
        status: 200,
        delay: Some(Duration::from_secs(2)),
        ..Default::default()
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable && err.message.contains("no answer"), "{err}");
    receiver.behave(|_| Reply {
        status: 404,
        body: Some("channel_not_found".into()),
        ..Default::default()
    });
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(
        !err.retryable && err.message.contains("channel_not_found"),
        "{err}"
    );
    assert!(!err.message.contains("s3cr3t"), "{err}");
    drop(receiver);
    let err = sink.deliver(Batch::new(&events)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert!(
        !err.message.contains("s3cr3t"),
        "the URL is not logged: {err}"
    );
}

#[tokio::test]
async fn a_template_makes_the_message() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SlackSinkConfig {
        template: Some(
            r#"{"text": {{ (event.reason ~ " " ~ event.regarding.name) | tojson }}, "unfurl_links": false}"#
                .into(),
        ),
        ..SlackSinkConfig::webhook_file(webhook_file(&receiver, &dir))
    }
    .build()
    .unwrap();
    let events = events(1);
    sink.deliver(Batch::new(&events)).await.unwrap();
    assert_eq!(
        bodies(&receiver)[0],
        serde_json::json!({"text": "BackOff api-0", "unfurl_links": false})
    );
}

#[test]
fn validation_names_the_field() {
    let check = |yaml: &str| {
        serde_norway::from_str::<SlackSinkConfig>(yaml)
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.to_string()))
    };
    assert!(check("webhook_url_env: SLACK_HOOK").is_ok());
    assert!(check("token_file: /t\nchannel: C1").is_ok());
    let starts = |yaml: &str, want: &str| {
        let err = check(yaml).unwrap_err();
        assert!(err.starts_with(want), "{yaml}: {err}");
    };
    starts("webhook_url: https://hooks.slack.com/x", "webhook_url: ");
    starts("token: xoxb-1\nchannel: C1", "token: ");
    starts("channel: C1", "webhook_url_file: ");
    starts("webhook_url_env: A\ntoken_env: B", "webhook_url_file: ");
    starts("token_env: B", "channel: ");
    starts("webhook_url_env: A\nchannel: C1", "channel: ");
    starts("webhook_url_env: 1A", "webhook_url_env: ");
    starts("webhook_url_env: A\ntemplate: 'not json'", "template: ");
    starts("webhook_url_env: A\nui_url: kev", "ui_url: ");
    assert!(
        check("webhook_url_env: A\nchanel: x")
            .unwrap_err()
            .contains("unknown field `chanel`")
    );
}

#[test]
fn a_webhook_url_that_is_not_one_is_refused_at_build_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hook");
    std::fs::write(&path, "hooks.slack.com/services/T/B/s3cr3t").unwrap();
    let err = SlackSinkConfig::webhook_file(&path).build().unwrap_err();
    assert_eq!(err.path, "webhook_url_file");
    assert!(!err.message.contains("s3cr3t"), "{err}");
}
