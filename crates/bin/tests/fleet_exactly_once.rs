//! Fleet mode end to end: two agents (replays with distinct cluster names) ship through
//! a real JetStream to one central kev on redb, which is SIGKILLed mid-way and
//! restarted: every event is stored exactly once, with its cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

mod support;

use std::time::Duration;

use support::*;

const PER_AGENT: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_one_central_kill_9_every_event_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::single(dir.path());
    let servers = servers_yaml(&[server.url()]);
    let central = central_config(dir.path(), &servers, 1);
    let mut agents = Vec::new();
    for cluster in ["prod-eu-1", "prod-us-2"] {
        let input = dir.path().join(format!("{cluster}.jsonl"));
        write_events(&input, cluster, PER_AGENT);
        agents.push(kev_run(&agent_config(
            dir.path(),
            cluster,
            &input,
            &servers,
            1,
        )));
    }
    let mut first = kev_run(&central);
    let js = jetstream(&[server.url()]).await;

    let p = wait_progress(&js, Duration::from_secs(60), "a quarter stored", |p| {
        p.ack_floor >= (PER_AGENT / 2) as u64
    })
    .await;
    first.kill().unwrap(); // SIGKILL, mid-way
    first.wait().unwrap();
    assert!(p.ack_floor < 2 * PER_AGENT as u64, "killed too late: {p:?}");
    let mut second = kev_run(&central);

    for mut agent in agents {
        let status = tokio::task::spawn_blocking(move || agent.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "an agent failed: {status}");
    }
    let total = 2 * PER_AGENT as u64;
    let p = wait_progress(&js, Duration::from_secs(60), "everything acked", |p| {
        p.last_seq >= total && p.ack_floor == p.last_seq
    })
    .await;
    assert_eq!(p.messages, total, "JetStream holds each event once");
    terminate(&mut second);

    for cluster in ["prod-eu-1", "prod-us-2"] {
        let (rows, keys) = query_cluster(&central, cluster);
        assert_eq!(keys.len(), PER_AGENT, "{cluster}: every event stored");
        assert_eq!(rows, PER_AGENT, "{cluster}: each stored once");
        assert!(
            keys.iter().all(|k| k.starts_with(cluster)),
            "{cluster}: only its own events"
        );
    }
}
