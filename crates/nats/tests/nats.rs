//! The NATS sink and source against a real `nats-server` (JetStream in a temp dir):
//! message-id deduplication, subjects, stream checks, acks only after the commit.
//! `kev_tests::tools::nats_server` finds or provisions the server (see README "Fleet mode").
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kev_core::{Checkpoint, Event, EventSource, RawEvent, Sink, SourceItem, StoredEvent};
use kev_nats::{NatsSinkConfig, NatsSourceConfig};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Held from picking a port until the server listens on it: Linux hands the same free
/// port to tests that ask at the same moment, and the second server could not bind.
static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn server(dir: &std::path::Path) -> Server {
    let binary = kev_tests::tools::nats_server();
    let _starting = STARTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server(child, format!("nats://127.0.0.1:{port}"))
}

fn events(n: usize) -> Vec<StoredEvent> {
    (0..n)
        .map(|i| StoredEvent {
            seq: i as u64 + 1,
            event: Event {
                cluster: if i % 2 == 0 {
                    "eu.1".into()
                } else {
                    "us-2".into()
                },
                namespace: if i % 5 == 0 {
                    String::new()
                } else {
                    "shop".into()
                },
                uid: format!("uid-{i}"),
                resource_version: "7".into(),
                reason: "BackOff".into(),
                ..Event::default()
            },
        })
        .collect()
}

fn sink(url: &str, extra: &str) -> kev_nats::NatsSink {
    let config: NatsSinkConfig = serde_norway::from_str(&format!(
        "connection: {{servers: [{url}]}}\nstream: {{create: true{extra}}}\n"
    ))
    .unwrap();
    config.build().unwrap()
}

async fn jetstream(url: &str) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(url).await.unwrap())
}

#[tokio::test]
async fn a_batch_published_twice_is_stored_once_under_its_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let sink = sink(&server.1, "");
    let batch = events(50);
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap();
    sink.deliver(kev_core::Batch::new(&batch)).await.unwrap(); // a route retry after a lost ack

    let js = jetstream(&server.1).await;
    let mut stream = js.get_stream("KEV_EVENTS").await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        50,
        "Nats-Msg-Id dropped the repeats"
    );
    let first = stream.get_raw_message(1).await.unwrap();
    assert_eq!(first.subject.as_str(), "kev.events.eu_1._cluster");
    assert_eq!(
        first.headers.get("Nats-Msg-Id").unwrap().as_str(),
        "uid-0/7"
    );
    let second = stream.get_raw_message(2).await.unwrap();
    assert_eq!(second.subject.as_str(), "kev.events.us-2.shop");
    let event: Event = serde_json::from_slice(&second.payload).unwrap();
    assert_eq!(event, batch[1].event);
}

#[tokio::test]
async fn a_stream_with_other_settings_is_named_and_retried_not_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    sink(&server.1, ", max_age: 1d")
        .deliver(kev_core::Batch::new(&events(1)))
        .await
        .unwrap();
    let err = sink(&server.1, ", max_age: 2d")
        .deliver(kev_core::Batch::new(&events(1)))
        .await
        .unwrap_err();
    assert!(err.retryable);
    assert!(
        err.message
            .contains("KEV_EVENTS exists with max_age = 86400s, the config says 172800s"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn the_source_acks_only_what_the_store_committed() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    sink(&server.1, "")
        .deliver(kev_core::Batch::new(&events(10)))
        .await
        .unwrap();
    let config: NatsSourceConfig = serde_norway::from_str(&format!(
        "connection: {{servers: [{}]}}\nconsumer: central\n",
        server.1
    ))
    .unwrap();
    let mut source = config.build().unwrap();
    let hook = source.commit_hook().unwrap();
    source.start(None).await.unwrap();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for i in 0..10 {
        let Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(event),
            checkpoint,
            ..
        })) = source.next().await
        else {
            panic!("item {i} is not an event");
        };
        assert_eq!(event.uid, format!("uid-{i}"));
        checkpoints.push(checkpoint.unwrap());
    }
    assert_eq!(
        checkpoints[3].position, "4",
        "the position is the stream sequence"
    );

    let js = jetstream(&server.1).await;
    let ack_floor = || async {
        let stream = js.get_stream("KEV_EVENTS").await.unwrap();
        let mut c: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer("central").await.unwrap();
        let info = c.info().await.unwrap();
        (info.ack_floor.stream_sequence, info.num_ack_pending)
    };
    assert_eq!(ack_floor().await, (0, 10), "nothing acked before a commit");
    hook(&checkpoints[3]); // the store committed the batch ending at the 4th message
    let deadline = Instant::now() + Duration::from_secs(10);
    while ack_floor().await != (4, 6) {
        assert!(
            Instant::now() < deadline,
            "acks up to the checkpoint: {:?}",
            ack_floor().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hook(&checkpoints[9]);
    while ack_floor().await != (10, 0) {
        assert!(
            Instant::now() < deadline,
            "acks of the rest: {:?}",
            ack_floor().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fleet agent ships each event's owner chain: the central source gets it as sent,
/// uids and the inferred flag included, so the central store has it too.
#[tokio::test]
async fn owner_chains_travel_with_the_events() {
    use kev_core::{OwnerChain, OwnerLink};
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut sent = events(2);
    sent[0].event.owners = OwnerChain {
        links: vec![
            OwnerLink {
                uid: "rs-uid".into(),
                ..OwnerLink::new("ReplicaSet", "web-7d4b9c8f6")
            },
            OwnerLink {
                uid: "deploy-uid".into(),
                ..OwnerLink::new("Deployment", "web")
            },
        ],
        inferred: false,
    };
    sent[1].event.owners = OwnerChain {
        links: vec![OwnerLink::new("StatefulSet", "db")],
        inferred: true,
    };
    sink(&server.1, "")
        .deliver(kev_core::Batch::new(&sent))
        .await
        .unwrap();
    let config: NatsSourceConfig = serde_norway::from_str(&format!(
        "connection: {{servers: [{}]}}\nconsumer: central\n",
        server.1
    ))
    .unwrap();
    let mut source = config.build().unwrap();
    source.start(None).await.unwrap();
    for want in &sent {
        let Some(Ok(SourceItem::Event {
            raw: RawEvent::Normalized(event),
            ..
        })) = source.next().await
        else {
            panic!("not an event");
        };
        assert_eq!(event.owners, want.event.owners, "{}", event.uid);
    }
}
