//! The kube client's `qps`/`burst` limit against the fake API server: requests past the
//! burst wait for tokens, counted at the server; `qps: 0` lets everything through.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kev_kube_source::{KubeSourceConfig, client_from};
use kev_tests::fake_api::{FakeApiServer, core_event};
use kube::Api;
use kube::api::ListParams;

async fn server_and_client(qps: f64, burst: u32) -> (FakeApiServer, kube::Client) {
    let server = FakeApiServer::start().await.unwrap();
    server
        .create("web", core_event("web", "e1", "Started"))
        .unwrap();
    let config = KubeSourceConfig {
        qps,
        burst,
        ..KubeSourceConfig::default()
    };
    let client = client_from(kube::Config::new(server.url().parse().unwrap()), &config).unwrap();
    (server, client)
}

/// Starts `n` list requests at once.
fn lists(client: &kube::Client, n: usize) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let api: Api<Event> = Api::all(client.clone());
        set.spawn(async move {
            api.list(&ListParams::default()).await.unwrap();
        });
    }
    set
}

async fn wait_for_requests(server: &FakeApiServer, n: u64) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while server.list_requests() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} requests did not arrive"));
}

#[tokio::test]
async fn the_burst_goes_at_once_and_the_rest_wait_for_tokens() {
    // One token per 2 s after a burst of 3: the fourth request cannot reach the server
    // within the first 1.5 s, however slow this machine is for the first three.
    let (server, client) = server_and_client(0.5, 3).await;
    let started = std::time::Instant::now();
    let mut requests = lists(&client, 5);
    wait_for_requests(&server, 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    if started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(server.list_requests(), 3, "only the burst went through");
    }
    wait_for_requests(&server, 4).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the fourth request waited for a token"
    );
    assert_eq!(server.list_requests(), 4);
    requests.abort_all();
}

#[tokio::test]
async fn qps_zero_sends_everything_at_once() {
    let (server, client) = server_and_client(0.0, 0).await;
    let mut requests = lists(&client, 50);
    while let Some(done) = requests.join_next().await {
        done.unwrap();
    }
    assert_eq!(server.list_requests(), 50);
}
