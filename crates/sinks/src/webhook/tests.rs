//! Tests of the webhook sink against a real HTTP server on 127.0.0.1: the conformance
//! suite in both modes, request shape, auth, classification of every kind of failure,
//! and config validation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use kev_core::testkit::sink::{Fault, SinkHarness, check_sink, sample_events};
use kev_core::{Event, Sink};

use super::*;

use crate::test_receiver::{Receiver, Reply};

struct Harness {
    receiver: Receiver,
    batch: bool,
}

#[async_trait]
impl SinkHarness for Harness {
    async fn sink(&mut self) -> Arc<dyn Sink> {
        self.receiver.clear();
        self.receiver.behave(|_| Reply::ok());
        let config = WebhookSinkConfig {
            batch: self.batch,
            ..WebhookSinkConfig::new(self.receiver.url("/hook"))
        };
        Arc::new(config.build().unwrap())
    }

    async fn received(&mut self) -> Vec<Event> {
        self.receiver.accepted_events()
    }

    async fn fail(&mut self, fault: Fault) -> bool {
        let status = match fault {
            Fault::Retryable => 503,
            Fault::Permanent => 400,
        };
        self.receiver.behave(move |_| Reply::status(status));
        true
    }

    async fn heal(&mut self) {
        self.receiver.behave(|_| Reply::ok());
    }
}

#[tokio::test]
async fn webhook_sink_one_event_per_request_passes_the_conformance_suite() {
    let mut harness = Harness {
        receiver: Receiver::start().await,
        batch: false,
    };
    check_sink(&mut harness).await;
}

#[tokio::test]
async fn webhook_sink_batch_array_passes_the_conformance_suite() {
    let mut harness = Harness {
        receiver: Receiver::start().await,
        batch: true,
    };
    check_sink(&mut harness).await;
}

#[tokio::test]
async fn one_event_per_request_carries_its_idempotency_key() {
    let receiver = Receiver::start().await;
    let config = WebhookSinkConfig {
        method: HttpMethod::Put,
        headers: [("X-Team".to_owned(), "sre".to_owned())].into(),
        ..WebhookSinkConfig::new(receiver.url("/kev/events"))
    };
    let sink = config.build().unwrap();
    let batch = sample_events(1, 3);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3);
    for (request, stored) in seen.iter().zip(&batch) {
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path, "/kev/events");
        assert!(!request.array, "one event is sent as an object");
        assert_eq!(request.events, std::slice::from_ref(&stored.event));
        assert_eq!(
            request.idempotency_key.as_deref(),
            Some(stored.event.idempotency_key().as_str())
        );
        assert_eq!(request.headers["x-team"], "sre");
        assert_eq!(request.headers["content-type"], "application/json");
        assert!(request.authorization.is_none());
    }
}

#[tokio::test]
async fn a_template_renders_each_body_with_its_content_type() {
    let receiver = Receiver::start().await;
    let config = WebhookSinkConfig {
        content_type: Some("text/plain; charset=utf-8".into()),
        ..WebhookSinkConfig::new(receiver.url("/chat"))
            .template("{{ event.reason }} on {{ event.regarding.kind }}/{{ event.regarding.name }}{% if context %} ({{ context.failures | length }} failures){% endif %}")
    };
    let sink = config.build().unwrap();
    let batch = sample_events(1, 2);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let contexts = vec![kev_core::enrich::EventContext::default(); 1];
    sink.deliver(kev_core::Batch::enriched(&batch[..1], &contexts))
        .await
        .unwrap();
    let seen = receiver.seen();
    let bodies: Vec<String> = seen
        .iter()
        .map(|s| String::from_utf8(s.body.to_vec()).unwrap())
        .collect();
    let plain = |e: &Event| format!("{} on {}/{}", e.reason, e.regarding.kind, e.regarding.name);
    assert_eq!(
        bodies,
        [
            plain(&batch[0].event),
            plain(&batch[1].event),
            format!("{} (0 failures)", plain(&batch[0].event)),
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["content-type"], "text/plain; charset=utf-8");
        assert!(s.idempotency_key.is_some());
    }
}

#[tokio::test]
async fn a_batch_is_one_array_with_a_first_to_last_key() {
    let receiver = Receiver::start().await;
    let config = WebhookSinkConfig {
        batch: true,
        ..WebhookSinkConfig::new(receiver.url("/"))
    };
    let sink = config.build().unwrap();
    let batch = sample_events(7, 4);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert!(seen[0].array);
    assert_eq!(seen[0].events.len(), 4);
    assert_eq!(
        seen[0].idempotency_key.as_deref(),
        Some("uid-000007/1007..uid-000010/1010")
    );
}

#[tokio::test]
async fn enriched_events_carry_their_context_and_plain_ones_do_not() {
    use kev_core::enrich::{ContainerLogs, EventContext};
    let receiver = Receiver::start().await;
    for batch in [false, true] {
        receiver.clear();
        let config = WebhookSinkConfig {
            batch,
            ..WebhookSinkConfig::new(receiver.url("/hook"))
        };
        let sink = config.build().unwrap();
        let events = sample_events(1, 2);
        let mut context = EventContext {
            logs: vec![ContainerLogs {
                container: "app".into(),
                previous: true,
                text: "panic: no config\n".into(),
                truncated: false,
            }],
            spec: Some(serde_json::json!({"containers": [{"name": "app"}]})),
            ..EventContext::default()
        };
        context.fail("related_events", "store closed");
        let contexts = vec![context.clone(); events.len()];
        sink.deliver(kev_core::Batch::enriched(&events, &contexts))
            .await
            .unwrap();
        sink.deliver(kev_core::Batch::new(&events)).await.unwrap();
        let seen = receiver.seen();
        let contexts: Vec<_> = seen.iter().flat_map(|s| s.contexts.clone()).collect();
        let delivered: Vec<Event> = seen.iter().flat_map(|s| s.events.clone()).collect();
        let expected: Vec<Event> = events
            .iter()
            .chain(&events)
            .map(|s| s.event.clone())
            .collect();
        assert_eq!(delivered, expected, "the event fields are unchanged");
        assert_eq!(contexts.len(), 4);
        for with in &contexts[..2] {
            let with = with.as_ref().expect("an enriched event has a context");
            assert_eq!(with["logs"][0]["container"], "app");
            assert_eq!(with["logs"][0]["previous"], true);
            assert_eq!(with["logs"][0]["text"], "panic: no config\n");
            assert_eq!(with["spec"]["containers"][0]["name"], "app");
            assert_eq!(with["relatedEvents"], serde_json::json!([]));
            assert_eq!(with["failures"][0]["part"], "related_events");
        }
        assert!(contexts[2..].iter().all(Option::is_none), "{contexts:?}");
        // The same events, with or without context, carry the same key.
        assert_eq!(
            seen[0].idempotency_key,
            seen[seen.len() / 2].idempotency_key
        );
    }
}

#[tokio::test]
async fn bearer_token_file_is_sent_and_reread_after_rotation() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first-token\n").unwrap();
    let config = WebhookSinkConfig {
        token_file: Some(token.clone()),
        ..WebhookSinkConfig::new(receiver.url("/"))
    };
    let sink = config.build().unwrap();
    sink.deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap();
    std::fs::write(&token, "second-token").unwrap();
    sink.deliver(kev_core::Batch::new(&sample_events(2, 1)))
        .await
        .unwrap();
    let auth: Vec<_> = receiver
        .seen()
        .into_iter()
        .map(|s| s.authorization.unwrap())
        .collect();
    assert_eq!(auth, ["Bearer first-token", "Bearer second-token"]);
    // Neither the config nor the sink prints the secret.
    let printed = format!("{config:?} {sink:?}");
    assert!(!printed.contains("first-token"), "{printed}");
    assert!(!printed.contains("second-token"), "{printed}");
    // A token file that disappears later is a retryable failure, not a panic.
    std::fs::remove_file(&token).unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&sample_events(3, 1)))
        .await
        .unwrap_err();
    assert!(
        err.retryable && err.message.contains("cannot read"),
        "{err}"
    );
}

#[tokio::test]
async fn bearer_token_from_the_environment_and_basic_auth_from_a_file() {
    let receiver = Receiver::start().await;
    // Cargo sets CARGO_PKG_NAME for test runs; the test cannot set variables itself
    // (set_var is unsafe and this workspace forbids unsafe code).
    let config = WebhookSinkConfig {
        token_env: Some("CARGO_PKG_NAME".into()),
        ..WebhookSinkConfig::new(receiver.url("/"))
    };
    config
        .build()
        .unwrap()
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "s3cr3t\n").unwrap();
    let config = WebhookSinkConfig {
        basic_auth: Some(
            serde_norway::from_str(&format!(
                "{{username: kev, password_file: {}}}",
                password.display()
            ))
            .unwrap(),
        ),
        ..WebhookSinkConfig::new(receiver.url("/"))
    };
    let sink = config.build().unwrap();
    sink.deliver(kev_core::Batch::new(&sample_events(2, 1)))
        .await
        .unwrap();
    let auth: Vec<_> = receiver
        .seen()
        .into_iter()
        .map(|s| s.authorization.unwrap())
        .collect();
    assert_eq!(
        auth,
        [
            format!("Bearer {}", std::env::var("CARGO_PKG_NAME").unwrap()),
            // base64("kev:s3cr3t")
            "Basic a2V2OnMzY3IzdA==".to_owned(),
        ]
    );
    assert!(!format!("{config:?} {sink:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn statuses_are_classified_retryable_or_permanent() {
    let receiver = Receiver::start().await;
    let sink = WebhookSinkConfig::new(receiver.url("/")).build().unwrap();
    let cases: [(u16, Option<&str>, bool, Option<Duration>); 9] = [
        (408, None, true, None),
        (429, Some("7"), true, Some(Duration::from_secs(7))),
        (429, None, true, None),
        (500, None, true, None),
        (503, Some("1"), true, Some(Duration::from_secs(1))),
        (400, None, false, None),
        (401, None, false, None),
        (404, None, false, None),
        (301, None, false, None),
    ];
    for (status, retry_after, retryable, after) in cases {
        receiver.behave(move |_| Reply {
            status,
            retry_after: retry_after.map(str::to_owned),
            delay: None,
            ..Reply::default()
        });
        let err = sink
            .deliver(kev_core::Batch::new(&sample_events(1, 1)))
            .await
            .unwrap_err();
        assert_eq!(err.retryable, retryable, "HTTP {status}: {err}");
        assert_eq!(err.retry_after, after, "HTTP {status}: {err}");
        assert!(err.message.contains(&status.to_string()), "{err}");
    }
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let receiver = Receiver::start().await;
    let sink = WebhookSinkConfig::new(receiver.url("/")).build().unwrap();
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    receiver.behave(move |_| Reply {
        status: 429,
        retry_after: Some(at.clone()),
        delay: None,
        body: None,
    });
    let err = sink
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    let after = err.retry_after.unwrap();
    assert!(
        after > Duration::from_secs(27) && after <= Duration::from_secs(30),
        "{after:?}"
    );
}

#[tokio::test]
async fn one_event_per_request_reports_what_was_acknowledged_before_a_failure() {
    let receiver = Receiver::start().await;
    let sink = WebhookSinkConfig::new(receiver.url("/")).build().unwrap();
    let batch = sample_events(1, 4);
    let poison = batch[2].event.uid.clone();
    receiver.behave(move |seen| {
        if seen.events[0].uid == poison {
            Reply::status(422)
        } else {
            Reply::ok()
        }
    });
    let err = sink
        .deliver(kev_core::Batch::new(&batch))
        .await
        .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.delivered, 2, "{err}");
    assert_eq!(receiver.accepted_events().len(), 2);
}

#[tokio::test]
async fn connection_refused_is_retryable_and_does_not_print_the_url() {
    // Bind, then close: nothing listens on this port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sink = WebhookSinkConfig::new(format!("http://127.0.0.1:{port}/hook/SECRET-PATH"))
        .build()
        .unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    assert!(err.message.starts_with("cannot connect"), "{err}");
    assert!(!err.message.contains("SECRET-PATH"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_past_the_timeout_is_retryable() {
    let receiver = Receiver::start().await;
    receiver.behave(|_| Reply {
        status: 200,
        retry_after: None,
        delay: Some(Duration::from_secs(5)),
        body: None,
    });
    let sink = WebhookSinkConfig {
        timeout: Duration::from_millis(100),
        ..WebhookSinkConfig::new(receiver.url("/"))
    }
    .build()
    .unwrap();
    let err = sink
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    assert!(err.message.contains("no answer within 100ms"), "{err}");
}

fn config_error(yaml: &str) -> kev_core::config::ConfigError {
    let config: WebhookSinkConfig = serde_norway::from_str(yaml).unwrap();
    config.validate().unwrap_err()
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            "url: hooks.example.com",
            "url",
            "relative URL without a base",
        ),
        (
            "url: ftp://example.com/x",
            "url",
            "scheme must be http or https",
        ),
        (
            "url: https://u:p@example.com/",
            "url",
            "credentials in the URL",
        ),
        ("url: http://[::1", "url", "invalid IPv6 address"),
        (
            "{url: 'http://h/', token: abc}",
            "token",
            "not accepted in clear",
        ),
        (
            "{url: 'http://h/', headers: {Authorization: Bearer abc}}",
            "headers.Authorization",
            "not accepted in clear",
        ),
        (
            "{url: 'http://h/', headers: {Idempotency-Key: x}}",
            "headers.Idempotency-Key",
            "kev sets",
        ),
        (
            "{url: 'http://h/', headers: {'bad header': x}}",
            "headers.bad header",
            "not a valid header name",
        ),
        (
            "{url: 'http://h/', template: '{{ event.reason'}",
            "template",
            "syntax error",
        ),
        (
            "{url: 'http://h/', batch: true, template: '{{ event.reason }}'}",
            "template",
            "set batch: false",
        ),
        (
            "{url: 'http://h/', token_file: /t, token_env: T}",
            "token_file",
            "only one of",
        ),
        (
            "{url: 'http://h/', token_env: 'not-a-var'}",
            "token_env",
            "not an environment variable name",
        ),
        (
            "{url: 'http://h/', basic_auth: {username: u, password: p}}",
            "basic_auth.password",
            "not accepted in clear",
        ),
        (
            "{url: 'http://h/', basic_auth: {username: u}}",
            "basic_auth.password_file",
            "exactly one",
        ),
        (
            "{url: 'http://h/', tls: {cert_file: /c}}",
            "tls.key_file",
            "cert_file needs key_file",
        ),
        ("{url: 'http://h/', timeout: 0s}", "timeout", "more than 0"),
    ];
    for (yaml, path, message) in cases {
        let err = config_error(yaml);
        assert_eq!(err.path, path, "{yaml}: {err}");
        assert!(err.message.contains(message), "{yaml}: {err}");
    }
    let err =
        serde_norway::from_str::<WebhookSinkConfig>("{url: 'http://h/', retries: 3}").unwrap_err();
    assert!(err.to_string().contains("unknown field `retries`"), "{err}");
    let err = serde_norway::from_str::<WebhookSinkConfig>("{url: 'http://h/', timeout: 5 parsecs}")
        .unwrap_err();
    assert!(err.to_string().contains("invalid duration"), "{err}");
}

#[test]
fn build_errors_name_the_field_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let base = || WebhookSinkConfig::new("https://127.0.0.1:1/");
    let cases = [
        (
            WebhookSinkConfig {
                token_file: Some(missing.clone()),
                ..base()
            },
            "token_file",
            "cannot read",
        ),
        (
            WebhookSinkConfig {
                token_file: Some(empty.clone()),
                ..base()
            },
            "token_file",
            "is empty",
        ),
        (
            WebhookSinkConfig {
                token_env: Some("KEV_TEST_SURELY_UNSET_1234".into()),
                ..base()
            },
            "token_env",
            "is not set",
        ),
        (
            WebhookSinkConfig {
                tls: TlsConfig {
                    ca_file: Some(not_pem.clone()),
                    ..TlsConfig::default()
                },
                ..base()
            },
            "tls.ca_file",
            "no PEM certificate",
        ),
        (
            WebhookSinkConfig {
                tls: TlsConfig {
                    cert_file: Some(not_pem.clone()),
                    key_file: Some(not_pem.clone()),
                    ..TlsConfig::default()
                },
                ..base()
            },
            "tls.cert_file",
            "ca.pem",
        ),
    ];
    for (config, path, message) in cases {
        let err = config.build().unwrap_err();
        assert_eq!(err.path, path, "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[tokio::test]
async fn credentials_echoed_by_the_receiver_are_redacted_from_the_error() {
    let receiver = Receiver::start().await;
    receiver.behave(|seen| Reply {
        status: 400,
        body: Some(format!("rejected request with {:?}", seen.authorization)),
        ..Reply::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "hunter2").unwrap();
    for config in [
        WebhookSinkConfig::new(receiver.url("/")).token_file(&password),
        WebhookSinkConfig {
            basic_auth: Some(
                serde_norway::from_str(&format!(
                    "{{username: kev, password_file: {}}}",
                    password.display()
                ))
                .unwrap(),
            ),
            ..WebhookSinkConfig::new(receiver.url("/"))
        },
    ] {
        let err = config
            .build()
            .unwrap()
            .deliver(kev_core::Batch::new(&sample_events(1, 1)))
            .await
            .unwrap_err();
        assert!(err.message.contains("rejected request with"), "{err}");
        assert!(err.message.contains("<redacted>"), "{err}");
        assert!(!err.message.contains("hunter2"), "{err}");
        // base64("kev:hunter2")
        assert!(!err.message.contains("a2V2Omh1bnRlcjI="), "{err}");
    }
}

#[tokio::test]
async fn a_bearer_token_given_by_the_caller_is_sent_and_never_printed() {
    let receiver = Receiver::start().await;
    let config = WebhookSinkConfig::new(receiver.url("/")).bearer_token("from-a-secret\n");
    let sink = config.build().unwrap();
    sink.deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap();
    let auth: Vec<_> = receiver
        .seen()
        .into_iter()
        .map(|s| s.authorization.unwrap())
        .collect();
    assert_eq!(auth, ["Bearer from-a-secret"]);
    let printed = format!("{config:?} {sink:?}");
    assert!(!printed.contains("from-a-secret"), "{printed}");
}

#[tokio::test]
async fn format_kee_posts_kees_enhanced_event_body() {
    let receiver = Receiver::start().await;
    let sink = WebhookSinkConfig::new(receiver.url("/kee"))
        .format(crate::kee::EventFormat::Kee)
        .build()
        .unwrap();
    let batch = [crate::kee::tests::sample()];
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body, crate::kee::tests::expected());
    assert_eq!(
        seen[0].idempotency_key.as_deref(),
        Some(batch[0].event.idempotency_key().as_str())
    );
}

#[tokio::test]
async fn format_kee_with_batch_posts_an_array_of_kee_bodies() {
    let receiver = Receiver::start().await;
    let sink = WebhookSinkConfig::new(receiver.url("/kee"))
        .format(crate::kee::EventFormat::Kee)
        .batch(true)
        .build()
        .unwrap();
    let batch = [crate::kee::tests::sample(), crate::kee::tests::sample()];
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    let seen = receiver.seen();
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    let expected = crate::kee::tests::expected();
    assert_eq!(body, serde_json::json!([expected.clone(), expected]));
}

#[test]
fn format_kee_with_a_template_is_refused() {
    let config: WebhookSinkConfig = serde_norway::from_str(
        "url: http://127.0.0.1:9/x\nformat: kee\ntemplate: '{{ event.reason }}'",
    )
    .unwrap();
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "format: a template is the whole body: leave format out with template"
    );
    let unknown =
        serde_norway::from_str::<WebhookSinkConfig>("url: http://127.0.0.1:9/x\nformat: xml");
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown variant `xml`")
    );
}
