//! Fleet mode on a three-node NATS cluster (routes on loopback ports), stream with three
//! replicas: the node leading the stream is killed during the run and delivery goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

mod support;

use std::time::Duration;

use support::*;

const PER_AGENT: usize = 8_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_goes_on_when_the_stream_leader_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = NatsServer::cluster(dir.path(), 3);
    let urls: Vec<String> = nodes.iter().map(NatsServer::url).collect();
    let servers = servers_yaml(&urls);
    let clusters = ["fleet-1", "fleet-2"];
    // The second halves of the agents' events come only after the leader is killed.
    let mut agents = Vec::new();
    let mut second_half = Vec::new();
    for cluster in clusters {
        let (agent, go) = agent_in_two_halves(dir.path(), cluster, PER_AGENT, &servers, 3);
        agents.push(agent);
        second_half.push(go);
    }
    let central = central_config(dir.path(), &servers, 3);
    let mut kev_central = kev_run(&central);
    let js = jetstream(&urls).await;
    let total = 2 * PER_AGENT as u64;

    let p = wait_progress(&js, Duration::from_secs(90), "publishing under way", |p| {
        p.last_seq >= total / 5
    })
    .await;
    let leader = js
        .get_stream("KEV_EVENTS")
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .cluster
        .clone()
        .and_then(|c| c.leader)
        .expect("the stream has a leader");
    let node = nodes.iter_mut().find(|n| n.name == leader).unwrap();
    node.kill();
    assert!(p.last_seq < total, "the kill came too late: {p:?}");
    for go in second_half {
        go.send(()).unwrap();
    }

    for mut agent in agents {
        let status = tokio::task::spawn_blocking(move || agent.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "an agent gave up: {status}");
    }
    let p = wait_progress(&js, Duration::from_secs(90), "everything acked", |p| {
        p.messages >= total && p.ack_floor == p.last_seq
    })
    .await;
    assert_eq!(p.messages, total, "each event once in the stream: {p:?}");
    terminate(&mut kev_central);
    for cluster in clusters {
        let (rows, keys) = query_cluster(&central, cluster);
        assert_eq!((rows, keys.len()), (PER_AGENT, PER_AGENT), "{cluster}");
    }
}
