//! [`Kev`]: the real `kev` binary as a child process against a fake API server — a
//! kubeconfig for it, a config file, waiting for `/readyz`, SIGTERM / SIGKILL, and
//! `/metrics` scraped over HTTP and parsed as Prometheus text ([`Metrics`]).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

/// The `kev` binary of this build: `target/<profile>/kev`, next to the test's `deps/`
/// folder (`cargo test --workspace` builds it for the kev package's own tests). When it
/// is missing (`cargo test -p kev-tests` on a fresh target), it is built once with the
/// cargo that built these tests: cargo has released its build lock by the time tests
/// run. With `-p kev-tests` alone an existing binary may be older than the sources; run
/// `cargo build -p kev-cli` first (or `cargo test --workspace`).
pub fn kev_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(find_or_build)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn find_or_build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/<profile>/deps/<test> → target/<profile>/kev
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} has no target/<profile> folder", exe.display()))?;
    let binary = profile_dir.join("kev");
    if binary.is_file() {
        return Ok(binary);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let mut build = std::process::Command::new(env!("CARGO"));
    build
        .args(["build", "-p", "kev-cli", "--bin", "kev", "--manifest-path"])
        .arg(&manifest);
    if profile == "release" {
        build.arg("--release");
    } else if profile != "debug" {
        build.args(["--profile", profile]);
    }
    if let Some(target_dir) = profile_dir.parent() {
        build.arg("--target-dir").arg(target_dir);
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run `cargo build -p kev-cli`: {e}"))?;
    if !status.success() || !binary.is_file() {
        return Err(format!(
            "the kev binary is missing at {} and `cargo build -p kev-cli` failed ({status}); build it first",
            binary.display()
        ));
    }
    Ok(binary)
}

/// A free port on 127.0.0.1 (bound and released; fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Writes a kubeconfig for `server_url` (plain HTTP, no credentials) into `dir`.
pub fn write_kubeconfig(dir: &Path, server_url: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{server_url}\"}}\nusers:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake, namespace: default}}\ncurrent-context: fake\n"
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// One running `kev run`.
#[derive(Debug)]
pub struct Kev {
    pub name: String,
    child: Child,
    /// `127.0.0.1:PORT` of `/metrics`, `/healthz`, `/readyz`.
    pub listen: String,
    /// `127.0.0.1:PORT` of the read API.
    pub api_listen: String,
    pub config: PathBuf,
    log: PathBuf,
    http: reqwest::Client,
}

impl Kev {
    /// Starts `kev run --config <dir>/<name>.yaml` with `config_yaml` plus a `server:`
    /// section on fresh ports; stderr goes to `<dir>/<name>.log`. `env` is added to a
    /// clean environment (no `KEV_`, `POD_` or in-cluster variables leak in).
    pub fn start(dir: &Path, name: &str, config_yaml: &str, env: &[(&str, &str)]) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let api_listen = format!("127.0.0.1:{}", free_port());
        let config = dir.join(format!("{name}.yaml"));
        let text = format!(
            "{config_yaml}\nserver: {{listen: \"{listen}\", api_listen: \"{api_listen}\"}}\n"
        );
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("write config: {e}"));
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let mut cmd = Command::new(kev_binary());
        cmd.args(["run", "--config"])
            .arg(&config)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kev: {e}"));
        Self {
            name: name.to_owned(),
            child,
            listen,
            api_listen,
            config,
            log,
            http: reqwest::Client::new(),
        }
    }

    /// What the process logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// `GET /readyz`: status code and body; `None` while nothing listens.
    pub async fn readyz(&self) -> Option<(u16, String)> {
        let r = self
            .http
            .get(format!("http://{}/readyz", self.listen))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        let code = r.status().as_u16();
        Some((code, r.text().await.unwrap_or_default()))
    }

    /// Polls `/readyz` until it is 200 with a body starting with `want`, or panics with
    /// the log after `limit`.
    pub async fn wait_ready(&mut self, want: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some((200, body)) = self.readyz().await
                && body.starts_with(want)
            {
                return body;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before ready:\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not `{want}` within {limit:?} (last: {:?}):\n{}",
                self.name,
                self.readyz().await,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Scrapes `/metrics` the way Prometheus does and parses the exposition.
    pub async fn metrics(&self) -> Metrics {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.listen))
            .header("Accept", "text/plain;version=0.0.4")
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("scrape {}: {e}", self.name))
            .text()
            .await
            .unwrap_or_else(|e| panic!("scrape {}: {e}", self.name));
        Metrics::parse(&text)
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let ok = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} {pid} failed");
    }

    /// SIGTERM: a graceful stop.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// SIGKILL: the process is gone at once, its locks released by the kernel.
    pub async fn kill(&mut self) {
        self.signal("-KILL");
        let _ = self.child.wait().await;
    }

    /// Waits for the process to end, at most `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("wait for {}: {e}", self.name),
            Err(_) => panic!(
                "{} still running after {limit:?}:\n{}",
                self.name,
                self.log()
            ),
        }
    }

    /// Runs `kev <args> --config <this process's config>` to completion (e.g. `query`).
    pub async fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new(kev_binary())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run kev {args:?}: {e}"))
    }
}

/// A parsed `/metrics` scrape.
#[derive(Debug)]
pub struct Metrics(prometheus_parse::Scrape);

impl Metrics {
    pub fn parse(text: &str) -> Self {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        Self(
            prometheus_parse::Scrape::parse(lines)
                .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}")),
        )
    }

    /// The sum of every sample of `name` (a counter or gauge) whose labels include
    /// `labels`; 0 when there is none.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    /// Whether `name` appears at all.
    pub fn has(&self, name: &str) -> bool {
        self.0.samples.iter().any(|s| s.metric == name)
    }
}

/// Polls `check` every 50 ms until it gives `Some`, or panics naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
