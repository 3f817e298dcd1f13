//! Fleet test harness: real `nats-server` processes on loopback ports, kev agents and a
//! central kev as child processes, and the event files they replay.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each suite uses a part

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `nats-server` with JetStream in its own directory; killed on drop.
pub struct NatsServer {
    pub name: String,
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// A single server.
    pub fn single(dir: &Path) -> Self {
        Self::spawn("n0", dir, free_port(), Vec::new())
    }

    /// A cluster of `n` servers routed to each other.
    pub fn cluster(dir: &Path, n: usize) -> Vec<Self> {
        let client: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let cluster: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let routes = cluster
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        (0..n)
            .map(|i| {
                let extra = vec![
                    "--cluster_name".into(),
                    "kev-test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", cluster[i]),
                    "--routes".into(),
                    routes.clone(),
                ];
                Self::spawn(&format!("n{i}"), dir, client[i], extra)
            })
            .collect()
    }

    fn spawn(name: &str, dir: &Path, port: u16, extra: Vec<String>) -> Self {
        let store = dir.join(format!("nats-{name}"));
        let mut args = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-js".into(),
            "-sd".into(),
            store.display().to_string(),
            "--server_name".into(),
            name.into(),
        ];
        args.extend(extra);
        let mut server = Self {
            name: name.into(),
            port,
            args,
            child: None,
        };
        server.start();
        server
    }

    /// Starts (again, after [`NatsServer::kill`]) with the same ports and data.
    pub fn start(&mut self) {
        let child = Command::new(kev_tests::tools::nats_server())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server {} did not listen",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes `count` core/v1 Events of cluster `tag` (uids unique across tags).
pub fn write_events(path: &Path, tag: &str, count: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let now = jiff::Timestamp::now();
    for i in 0..count {
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("web-{i}.17a"), "namespace": format!("ns-{}", i % 7), "uid": format!("{tag}-uid-{i}"), "resourceVersion": format!("{}", 1000 + i)},
            "involvedObject": {"kind": "Pod", "name": format!("web-{}", i % 40), "namespace": format!("ns-{}", i % 7)},
            "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container",
            "lastTimestamp": now.to_string(), "count": 1
        });
        writeln!(file, "{event}").unwrap();
    }
    file.flush().unwrap();
}

/// `servers: [...]` for a kev config.
pub fn servers_yaml(urls: &[String]) -> String {
    format!("[{}]", urls.join(", "))
}

/// Config of an agent: replays `input` as cluster `cluster`, ships to NATS.
pub fn agent_config(
    dir: &Path,
    cluster: &str,
    input: &Path,
    servers: &str,
    replicas: usize,
) -> PathBuf {
    let path = dir.join(format!("agent-{cluster}.yaml"));
    std::fs::write(
        &path,
        format!(
            "cluster: {cluster}
source: {{type: replay, path: {input}}}
store: {{type: redb, path: {store}}}
server: {{enabled: false, api_listen: \"off\"}}
routes:
  - name: fleet
    batch: {{max_events: 500}}
    sinks:
      - type: nats
        connection: {{servers: {servers}}}
        stream: {{create: true, replicas: {replicas}, max_age: 1d, duplicate_window: 10m}}
",
            input = input.display(),
            store = dir.join(format!("agent-{cluster}-data")).display(),
        ),
    )
    .unwrap();
    path
}

/// Config of the central kev: a durable consumer into redb; its API serves `kev query`.
pub fn central_config(dir: &Path, servers: &str, replicas: usize) -> PathBuf {
    let path = dir.join("central.yaml");
    std::fs::write(
        &path,
        format!(
            "source:
  type: nats
  connection: {{servers: {servers}}}
  stream: {{create: true, replicas: {replicas}, max_age: 1d, duplicate_window: 10m}}
  consumer: central
  fetch_max_messages: 1000
  ack_wait: 5s                      # what the killed central held comes back soon
store: {{type: redb, path: {store}}}
server: {{enabled: false, api_listen: \"127.0.0.1:{api}\"}}
routes:
  - name: archive
    batch: {{max_events: 1000}}
    sinks: [{{type: file, path: {archive}}}]
",
            store = dir.join("central-data").display(),
            api = free_port(),
            archive = dir.join("archive.jsonl").display(),
        ),
    )
    .unwrap();
    path
}

/// `kev run --config`, output discarded (errors on stderr are shown).
pub fn kev_run(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("KEV_LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// An agent of `cluster` that reads its `PER_AGENT` events from stdin: the first half at
/// once, the second half when the returned sender is sent to (or dropped). A fault
/// injected in between then always falls in the middle of the run, however fast the
/// machine is.
pub fn agent_in_two_halves(
    dir: &Path,
    cluster: &str,
    per_agent: usize,
    servers: &str,
    replicas: usize,
) -> (Child, std::sync::mpsc::Sender<()>) {
    let input = dir.join(format!("{cluster}.jsonl"));
    write_events(&input, cluster, per_agent);
    let lines = std::fs::read_to_string(&input).unwrap();
    let middle = lines.match_indices('\n').nth(per_agent / 2 - 1).unwrap().0 + 1;
    let (first, second) = (lines[..middle].to_owned(), lines[middle..].to_owned());
    let config = agent_config(dir, cluster, Path::new("/dev/stdin"), servers, replicas);
    let mut agent = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("KEV_LOG_LEVEL", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = agent.stdin.take().unwrap();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        stdin.write_all(first.as_bytes()).unwrap();
        let _ = wait.recv();
        stdin.write_all(second.as_bytes()).unwrap();
    });
    (agent, go)
}

/// Number of events of `cluster` in the central store, through `kev query`, with the
/// set of distinct idempotency keys.
pub fn query_cluster(config: &Path, cluster: &str) -> (usize, std::collections::HashSet<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_kev"))
        .args([
            "query",
            "--config",
            config.to_str().unwrap(),
            "--cluster",
            cluster,
            "--limit",
            "10000000",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kev query: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = std::collections::HashSet::new();
    let mut rows = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["cluster"], cluster);
        keys.insert(format!(
            "{}/{}",
            event["uid"].as_str().unwrap(),
            event["resourceVersion"].as_str().unwrap()
        ));
        rows += 1;
    }
    (rows, keys)
}

/// Waits until `check` holds, failing after `limit` with `what`.
pub async fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a kev with SIGTERM (a graceful stop) and waits for it.
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
}

/// Stream and consumer positions, read from JetStream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Messages in the stream (after JetStream's duplicate removal).
    pub messages: u64,
    pub last_seq: u64,
    /// Every message up to here is acked by the central kev, hence stored.
    pub ack_floor: u64,
}

/// Reads [`Progress`]; `None` while the server or the consumer is not reachable.
pub async fn progress(js: &async_nats::jetstream::Context, consumer: &str) -> Option<Progress> {
    let mut stream = js.get_stream("KEV_EVENTS").await.ok()?;
    let info = stream.info().await.ok()?.clone();
    let mut consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer(consumer).await.ok()?;
    let c = consumer.info().await.ok()?;
    Some(Progress {
        messages: info.state.messages,
        last_seq: info.state.last_sequence,
        ack_floor: c.ack_floor.stream_sequence,
    })
}

/// A JetStream context for the test's own look at the stream.
pub async fn jetstream(urls: &[String]) -> async_nats::jetstream::Context {
    let addrs: Vec<async_nats::ServerAddr> = urls.iter().map(|u| u.parse().unwrap()).collect();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(addrs)
        .await
        .unwrap();
    async_nats::jetstream::new(client)
}

/// Waits until `check` holds for the stream's progress.
pub async fn wait_progress(
    js: &async_nats::jetstream::Context,
    limit: Duration,
    what: &str,
    check: impl Fn(&Progress) -> bool,
) -> Progress {
    let deadline = Instant::now() + limit;
    let mut last = None;
    loop {
        if let Some(p) = progress(js, "central").await {
            if check(&p) {
                return p;
            }
            last = Some(p);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
