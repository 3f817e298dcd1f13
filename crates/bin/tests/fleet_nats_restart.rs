//! Fleet mode across a NATS server restart: the server is SIGKILLed and started again
//! while two agents publish; agents retry with the same message ids, nothing is lost,
//! and JetStream's duplicate window drops what was published twice (also a whole
//! history published again by an agent that lost its store).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

mod support;

use std::time::Duration;

use support::*;

const PER_AGENT: usize = 8_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_ride_out_a_server_restart_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = NatsServer::single(dir.path());
    let servers = servers_yaml(&[server.url()]);
    let clusters = ["edge-a", "edge-b"];
    // The second halves of the agents' events come only after the server is killed.
    let mut agents = Vec::new();
    let mut second_half = Vec::new();
    for cluster in clusters {
        let (agent, go) = agent_in_two_halves(dir.path(), cluster, PER_AGENT, &servers, 1);
        agents.push(agent);
        second_half.push(go);
    }
    let central = central_config(dir.path(), &servers, 1);
    let mut kev_central = kev_run(&central);
    let js = jetstream(&[server.url()]).await;
    let total = 2 * PER_AGENT as u64;

    let p = wait_progress(&js, Duration::from_secs(60), "publishing under way", |p| {
        p.last_seq >= total / 5
    })
    .await;
    server.kill();
    assert!(p.last_seq < total, "the restart came too late: {p:?}");
    for go in second_half {
        go.send(()).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.start();

    for mut agent in agents {
        let status = tokio::task::spawn_blocking(move || agent.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "an agent gave up: {status}");
    }
    // An agent that lost its own store publishes its whole history again: every
    // message is a repeat inside the duplicate window.
    std::fs::remove_dir_all(dir.path().join("agent-edge-a-data")).unwrap();
    let mut again = kev_run(&dir.path().join("agent-edge-a.yaml"));
    let status = tokio::task::spawn_blocking(move || again.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "the re-run agent failed: {status}");

    let p = wait_progress(&js, Duration::from_secs(60), "everything acked", |p| {
        p.messages >= total && p.ack_floor == p.last_seq
    })
    .await;
    assert_eq!(
        p.messages, total,
        "the message-id window dropped every repeat: {p:?}"
    );
    terminate(&mut kev_central);
    for cluster in clusters {
        let (rows, keys) = query_cluster(&central, cluster);
        assert_eq!((rows, keys.len()), (PER_AGENT, PER_AGENT), "{cluster}");
    }
}
