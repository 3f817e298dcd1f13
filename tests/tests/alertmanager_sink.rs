//! The Alertmanager sink under kev-core's real route runner, against the real
//! Alertmanager (Debian's `prometheus-alertmanager`, from
//! `kev_tests::tools::alertmanager_tool`; skipped with the reason without it, unless
//! `KEV_REQUIRE_ALERTMANAGER=1`), queried back through its API v2.
//!
//! - Through a proxy that fails on schedule (503s, a 429 with Retry-After, an answer
//!   slower than the timeout after Alertmanager took the alerts): every firing alert is
//!   there exactly once with its labels, annotations and link, and the objects that
//!   recovered (`Started` after `BackOff`) have no active alert.
//! - Alertmanager down when the route starts, up two seconds later: nothing lost.

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kev_core::filter::KeepAll;
use kev_core::pipeline::{Pipeline, PipelineConfig, PipelineReport, Route, SinkPolicy};
use kev_core::testkit::pipeline::{EventsSource, PassThrough};
use kev_core::{Event, EventType, MemoryStore};
use kev_sinks::alertmanager::AlertmanagerSinkConfig;
use kev_tests::alertmanager::{Alertmanager, Fault, FaultProxy};
use kev_tests::daemon::free_port;
use kev_tests::tools::alertmanager_tool;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const PODS: usize = 20;
const RECOVERED: usize = 5;

/// `PODS` pods in BackOff, then `Started` on the first `RECOVERED` of them.
fn events() -> Vec<Event> {
    let now = jiff::Timestamp::now();
    let pod = |i: usize, reason: &str, kind: EventType| Event {
        cluster: "prod".into(),
        namespace: "web".into(),
        name: format!("api-{i}.{reason}"),
        uid: format!("uid-{reason}-{i}"),
        resource_version: "1".into(),
        r#type: kind,
        reason: reason.into(),
        message: format!("{reason} api-{i}"),
        regarding: kev_core::ObjectRef {
            kind: "Pod".into(),
            namespace: "web".into(),
            name: format!("api-{i}"),
            ..Default::default()
        },
        count: 3,
        first_seen: Some(now),
        last_seen: Some(now),
        ..Default::default()
    };
    let failing = (0..PODS).map(|i| pod(i, "BackOff", EventType::Warning));
    let recovered = (0..RECOVERED).map(|i| pod(i, "Started", EventType::Normal));
    failing.chain(recovered).collect()
}

async fn run(config: AlertmanagerSinkConfig, events: Vec<Event>) -> PipelineReport {
    let sink = config.timeout(Duration::from_millis(500)).build().unwrap();
    Pipeline::new(
        Box::new(EventsSource::new(events)),
        Arc::new(PassThrough),
        Arc::new(MemoryStore::new()),
    )
    .route(
        Route::new("alerts", Arc::new(KeepAll))
            .sink(Arc::new(sink))
            .policy(SinkPolicy {
                max_events: 10,
                max_delay: Duration::ZERO,
                retry_initial: Duration::from_millis(50),
                retry_max: Duration::from_millis(400),
            }),
    )
    .config(PipelineConfig {
        drain_timeout: Duration::from_secs(30),
        ..PipelineConfig::default()
    })
    .run(CancellationToken::new())
    .await
    .unwrap()
}

/// Alertmanager's active alerts by the pod they name.
async fn active(am: &Alertmanager) -> BTreeMap<String, Vec<Value>> {
    let mut by_pod: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for alert in am.alerts().await {
        let pod = alert["labels"]["name"].as_str().unwrap().to_owned();
        by_pod.entry(pod).or_default().push(alert);
    }
    by_pod
}

fn want_pods(from: usize) -> Vec<String> {
    let mut pods: Vec<String> = (from..PODS).map(|i| format!("api-{i}")).collect();
    pods.sort();
    pods
}

#[tokio::test]
async fn faults_on_the_way_lose_nothing_and_make_no_second_alert() {
    let Some(server) = alertmanager_tool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am = Alertmanager::start(&server, dir.path(), &format!("127.0.0.1:{}", free_port()));
    am.wait_ready(Duration::from_secs(20)).await;
    let proxy = FaultProxy::start(&am.url, |n| match n {
        0 | 1 => Some(Fault {
            status: 503,
            ..Fault::default()
        }),
        2 => Some(Fault {
            status: 429,
            retry_after: Some("1".into()),
            delay: None,
        }),
        4 => Some(Fault {
            delay: Some(Duration::from_secs(2)),
            ..Fault::default()
        }),
        _ => None,
    })
    .await;
    let config = AlertmanagerSinkConfig::new(proxy.url()).ui_url("https://kev.example.com");
    let report = run(config, events()).await;
    assert_eq!(report.routes[0].cursor, (PODS + RECOVERED) as u64);
    assert_eq!(report.routes[0].dead_lettered, 0);

    let answered = proxy.answered();
    assert_eq!(&answered[..3], [503, 503, 429], "{answered:?}");
    assert!(
        answered.len() >= 6,
        "the late answer was retried: {answered:?}"
    );

    let active = active(&am).await;
    assert_eq!(
        active.keys().cloned().collect::<Vec<_>>(),
        want_pods(RECOVERED),
        "the recovered pods' alerts ended; every other pod has one"
    );
    for (pod, alerts) in &active {
        assert_eq!(alerts.len(), 1, "one alert per pod, none twice: {alerts:?}");
        let alert = &alerts[0];
        let labels = alert["labels"].as_object().unwrap();
        let names: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "alertname",
                "cluster",
                "kind",
                "name",
                "namespace",
                "severity"
            ]
        );
        assert_eq!(labels["alertname"], "BackOff");
        assert_eq!(labels["severity"], "warning");
        assert_eq!(
            alert["annotations"]["summary"],
            format!("BackOff on Pod web/{pod}")
        );
        assert_eq!(
            alert["generatorURL"],
            format!("https://kev.example.com/objects/Pod/web/{pod}")
        );
    }
}

#[tokio::test]
async fn alertmanager_down_at_start_then_up_loses_nothing() {
    let Some(server) = alertmanager_tool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = AlertmanagerSinkConfig::new(format!("http://{listen}"));
    let route = tokio::spawn(run(config, events()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!route.is_finished(), "the route waits for Alertmanager");
    let am = Alertmanager::start(&server, dir.path(), &listen);
    let report = tokio::time::timeout(Duration::from_secs(40), route)
        .await
        .expect("the route delivered once Alertmanager was up")
        .unwrap();
    assert_eq!(report.routes[0].cursor, (PODS + RECOVERED) as u64);
    let active = active(&am).await;
    assert_eq!(
        active.keys().cloned().collect::<Vec<_>>(),
        want_pods(RECOVERED)
    );
    assert!(active.values().all(|a| a.len() == 1));
}
