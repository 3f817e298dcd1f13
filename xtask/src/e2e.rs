//! `cargo xtask e2e`: kev in a real cluster. Against kind it creates (or reuses) a
//! cluster, builds and loads the image, installs the chart (or the plain manifests),
//! then checks with kubectl that events of a crash-looping pod and an unschedulable
//! pod reach `kev query`, an in-cluster webhook, `/metrics` and the EventPolicy status.
//! `--kubeconfig`/`--context` run the same against an existing cluster.

mod exec;

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use exec::{poll, run};

/// Exit code when a tool the test needs is missing: nothing was tried.
pub const UNAVAILABLE_EXIT_CODE: u8 = 2;

const NAMESPACE: &str = "kev";
const TEST_NAMESPACE: &str = "kev-e2e";
const RELEASE: &str = "kev";
const POLICY: &str = "kev-e2e";
const KIND_IMAGE: &str = "ghcr.io/kev-dev/kev:e2e";
const RELEASED_IMAGE: &str = "ghcr.io/kev-dev/kev:0.1.0";

/// Options of `cargo xtask e2e`.
#[derive(Debug, Clone, clap::Args)]
pub struct E2eArgs {
    /// kind cluster to use; created if it does not exist (and then deleted at the end
    /// unless --keep).
    #[arg(long, default_value = "kev-e2e", conflicts_with_all = ["kubeconfig", "context"])]
    pub cluster: String,
    /// Run against the cluster of this kubeconfig instead of kind (no cluster creation,
    /// no image build or load).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Run against this kubeconfig context instead of kind.
    #[arg(long)]
    pub context: Option<String>,
    /// Image to deploy. Default: the one built for kind, or the released image against
    /// an existing cluster.
    #[arg(long)]
    pub image: Option<String>,
    /// Install `deploy/manifests` with kubectl instead of the Helm chart.
    #[arg(long)]
    pub no_helm: bool,
    /// Leave the cluster, kev and the test workloads in place at the end.
    #[arg(long)]
    pub keep: bool,
    /// How long each wait (rollout, events, webhook, status) may take, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
}

/// Where the test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A kind cluster of this name; image built and loaded.
    Kind { cluster: String },
    /// Whatever cluster the kubeconfig/context points at; image pulled by the nodes.
    Existing {
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
    },
}

impl E2eArgs {
    pub fn target(&self) -> Target {
        if self.kubeconfig.is_some() || self.context.is_some() {
            Target::Existing {
                kubeconfig: self.kubeconfig.clone(),
                context: self.context.clone(),
            }
        } else {
            Target::Kind {
                cluster: self.cluster.clone(),
            }
        }
    }

    pub fn image(&self) -> String {
        match (&self.image, self.target()) {
            (Some(image), _) => image.clone(),
            (None, Target::Kind { .. }) => KIND_IMAGE.into(),
            (None, Target::Existing { .. }) => RELEASED_IMAGE.into(),
        }
    }
}

/// A container engine with a reachable daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    pub name: &'static str,
    pub path: PathBuf,
}

/// The tools found for the run.
#[derive(Debug, Clone)]
pub struct Tools {
    pub kubectl: PathBuf,
    pub helm: Option<PathBuf>,
    pub kind: Option<PathBuf>,
    pub engine: Option<Engine>,
}

/// A tool the test needs is missing or unusable; nothing has been done yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cargo xtask e2e cannot run: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

/// An executable called `name` in the directories of `path` (a PATH value).
pub fn find_in_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Finds every tool the run needs in `path`, in the order they are needed, and stops
/// at the first that is missing: kind and a container engine whose daemon answers
/// (kind only), kubectl, and helm unless `--no-helm`.
pub fn preflight(args: &E2eArgs, path: &OsStr) -> Result<Tools, Unavailable> {
    let (kind, engine) = match args.target() {
        Target::Kind { .. } => {
            let kind = find_in_path("kind", path).ok_or_else(|| {
                Unavailable(
                    "`kind` is not on PATH. Install kind (https://kind.sigs.k8s.io), or run \
                     against an existing cluster with --kubeconfig PATH / --context NAME."
                        .into(),
                )
            })?;
            (Some(kind), Some(container_engine(path)?))
        }
        Target::Existing { .. } => (None, None),
    };
    let kubectl = find_in_path("kubectl", path).ok_or_else(|| {
        Unavailable("`kubectl` is not on PATH; the checks run through kubectl.".into())
    })?;
    let helm = if args.no_helm {
        None
    } else {
        Some(find_in_path("helm", path).ok_or_else(|| {
            Unavailable(
                "`helm` is not on PATH. Install Helm 3, or pass --no-helm to apply \
                 deploy/manifests with kubectl."
                    .into(),
            )
        })?)
    };
    Ok(Tools {
        kubectl,
        helm,
        kind,
        engine,
    })
}

/// docker, else podman, whose `info` succeeds (the daemon or machine is reachable).
fn container_engine(path: &OsStr) -> Result<Engine, Unavailable> {
    let mut problems = Vec::new();
    for name in ["docker", "podman"] {
        let Some(engine) = find_in_path(name, path) else {
            problems.push(format!("`{name}` is not on PATH"));
            continue;
        };
        match run(
            Command::new(&engine).args(["info", "--format", "{{.ID}}"]),
            Duration::from_secs(20),
        ) {
            Ok(_) => return Ok(Engine { name, path: engine }),
            Err(e) => problems.push(format!(
                "`{name} info` failed, is its daemon running? ({e:#})"
            )),
        }
    }
    Err(Unavailable(format!(
        "no usable container engine to build the image and run kind: {}",
        problems.join("; ")
    )))
}

/// Entry point: preflight (exit code 2 when something is missing), then the scenario.
pub fn run_e2e(args: &E2eArgs) -> anyhow::Result<ExitCode> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tools = match preflight(args, &path) {
        Ok(tools) => tools,
        Err(unavailable) => {
            eprintln!("{unavailable}");
            return Ok(ExitCode::from(UNAVAILABLE_EXIT_CODE));
        }
    };
    let root = workspace_root()?;
    let cluster = Cluster::new(args, tools, root);
    let created = cluster.prepare()?;
    cluster.reachable()?;
    let outcome = cluster.scenario();
    if outcome.is_err() {
        cluster.diagnose();
    }
    if !args.keep
        && let Err(e) = cluster.clean_up(created)
    {
        eprintln!("e2e: clean-up failed: {e:#}");
    }
    outcome?;
    println!("e2e: all checks passed");
    Ok(ExitCode::SUCCESS)
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// The cluster under test and how to reach it.
struct Cluster {
    args: E2eArgs,
    tools: Tools,
    root: PathBuf,
    image: String,
    wait: Duration,
}

const STEP: Duration = Duration::from_secs(5);
const QUICK: Duration = Duration::from_secs(60);

impl Cluster {
    fn new(args: &E2eArgs, tools: Tools, root: PathBuf) -> Self {
        Self {
            image: args.image(),
            wait: Duration::from_secs(args.timeout_secs),
            args: args.clone(),
            tools,
            root,
        }
    }

    /// kubectl with the target's kubeconfig and context.
    fn kubectl<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Command {
        let mut cmd = Command::new(&self.tools.kubectl);
        match self.args.target() {
            Target::Kind { cluster } => {
                cmd.arg("--context").arg(format!("kind-{cluster}"));
            }
            Target::Existing {
                kubeconfig,
                context,
            } => {
                if let Some(k) = kubeconfig {
                    cmd.arg("--kubeconfig").arg(k);
                }
                if let Some(c) = context {
                    cmd.arg("--context").arg(c);
                }
            }
        }
        cmd.args(args).current_dir(&self.root);
        cmd
    }

    fn helm(&self, helm: &Path) -> Command {
        let mut cmd = Command::new(helm);
        match self.args.target() {
            Target::Kind { cluster } => {
                cmd.arg("--kube-context").arg(format!("kind-{cluster}"));
            }
            Target::Existing {
                kubeconfig,
                context,
            } => {
                if let Some(k) = kubeconfig {
                    cmd.arg("--kubeconfig").arg(k);
                }
                if let Some(c) = context {
                    cmd.arg("--kube-context").arg(c);
                }
            }
        }
        cmd.current_dir(&self.root);
        cmd
    }

    fn step(&self, what: &str) {
        println!("e2e: {what}");
    }

    /// Cluster and image (kind only). Returns whether the cluster was created here.
    fn prepare(&self) -> anyhow::Result<bool> {
        let (Target::Kind { cluster }, Some(kind), Some(engine)) =
            (self.args.target(), &self.tools.kind, &self.tools.engine)
        else {
            return Ok(false);
        };
        let kind_cmd = |args: &[&str]| {
            let mut cmd = Command::new(kind);
            cmd.args(args);
            if engine.name == "podman" {
                cmd.env("KIND_EXPERIMENTAL_PROVIDER", "podman");
            }
            cmd
        };
        let clusters = run(&mut kind_cmd(&["get", "clusters"]), QUICK)?;
        let created = !clusters.lines().any(|l| l.trim() == cluster);
        if created {
            self.step(&format!("creating kind cluster {cluster}"));
            run(
                &mut kind_cmd(&["create", "cluster", "--name", &cluster, "--wait", "180s"]),
                Duration::from_secs(600),
            )?;
        } else {
            self.step(&format!("reusing kind cluster {cluster}"));
        }
        self.step(&format!("building {} with {}", self.image, engine.name));
        run(
            Command::new(&engine.path)
                .args(["build", "-t", &self.image, "."])
                .current_dir(&self.root),
            Duration::from_secs(3600),
        )?;
        self.step("loading the image into kind");
        if engine.name == "docker" {
            run(
                &mut kind_cmd(&["load", "docker-image", &self.image, "--name", &cluster]),
                Duration::from_secs(600),
            )?;
        } else {
            let archive = std::env::temp_dir().join(format!("kev-e2e-{}.tar", std::process::id()));
            let archive_str = archive.to_string_lossy().into_owned();
            run(
                Command::new(&engine.path).args(["save", "-o", &archive_str, &self.image]),
                Duration::from_secs(600),
            )?;
            let loaded = run(
                &mut kind_cmd(&["load", "image-archive", &archive_str, "--name", &cluster]),
                Duration::from_secs(600),
            );
            let _ = std::fs::remove_file(&archive);
            loaded?;
        }
        Ok(created)
    }

    /// The API server answers; otherwise nothing is installed or cleaned up.
    fn reachable(&self) -> anyhow::Result<()> {
        run(&mut self.kubectl(["version", "-o", "json"]), QUICK)
            .context("cannot reach the cluster's API server")?;
        Ok(())
    }

    fn scenario(&self) -> anyhow::Result<()> {
        self.install()?;
        self.step("deploying the webhook receiver");
        run(
            &mut self.kubectl(["apply", "-f", "deploy/e2e/webhook-receiver.yaml"]),
            QUICK,
        )?;
        run(
            &mut self.kubectl([
                "-n",
                TEST_NAMESPACE,
                "rollout",
                "status",
                "deploy/webhook",
                &format!("--timeout={}s", self.wait.as_secs()),
            ]),
            self.wait + QUICK,
        )?;
        run(
            &mut self.kubectl(["apply", "-f", "deploy/e2e/eventpolicy.yaml"]),
            QUICK,
        )?;
        let received_before = self.scrape_received().unwrap_or(0.0);
        self.step(&format!(
            "kev_events_received_total is {received_before}; creating the crash-looping and unschedulable pods"
        ));
        run(
            &mut self.kubectl(["apply", "-f", "deploy/e2e/workloads.yaml"]),
            QUICK,
        )?;

        self.step("waiting for the events in `kev query`");
        poll(
            "BackOff and FailedScheduling in kev query",
            self.wait,
            STEP,
            || {
                let events = self.query_events()?;
                let found = |reason: &str, name_prefix: &str| {
                    events.iter().any(|e| {
                        e["reason"] == reason
                            && e["namespace"] == TEST_NAMESPACE
                            && e["regarding"]["name"]
                                .as_str()
                                .is_some_and(|n| n.starts_with(name_prefix))
                    })
                };
                Ok(
                    (found("BackOff", "crashloop") && found("FailedScheduling", "unschedulable"))
                        .then_some(()),
                )
            },
        )?;

        self.step("waiting for the webhook to receive them, with the pod's logs");
        poll("the events at the webhook", self.wait, STEP, || {
            let logs = run(
                &mut self.kubectl(["-n", TEST_NAMESPACE, "logs", "deploy/webhook", "--tail=-1"]),
                QUICK,
            )?;
            let got = |needle: &str| logs.contains(needle);
            // The crashing container's own output arrives only through the policy's
            // log gathering (`includeLogs`): the enrichment reached the webhook.
            Ok((got("BackOff")
                && got("crashloop")
                && got("FailedScheduling")
                && got("crashing on purpose"))
            .then_some(()))
        })?;

        self.step("checking that /metrics counts them");
        poll("kev_events_received_total to rise", self.wait, STEP, || {
            let now = self.scrape_received()?;
            Ok((now > received_before).then_some(()))
        })?;

        self.step("waiting for the EventPolicy status counters");
        poll("the EventPolicy status counters", self.wait, STEP, || {
            let out = run(
                &mut self.kubectl(["-n", NAMESPACE, "get", "eventpolicy", POLICY, "-o", "json"]),
                QUICK,
            )?;
            let policy: Value = serde_json::from_str(&out)?;
            let status = &policy["status"];
            let count = |field: &str| status[field].as_i64().unwrap_or(0);
            Ok(
                (count("totalEventsProcessed") > 0 && count("successfulDeliveries") > 0)
                    .then_some(()),
            )
        })?;
        Ok(())
    }

    fn install(&self) -> anyhow::Result<()> {
        let (repository, tag) = split_image(&self.image)?;
        match &self.tools.helm {
            Some(helm) if !self.args.no_helm => {
                self.step(&format!("installing the chart with {}", self.image));
                let wait = format!("{}s", self.wait.as_secs());
                run(
                    self.helm(helm).args([
                        "upgrade",
                        "--install",
                        RELEASE,
                        "deploy/helm/kev",
                        "--namespace",
                        NAMESPACE,
                        "--create-namespace",
                        "--set",
                        &format!("image.repository={repository}"),
                        "--set",
                        &format!("image.tag={tag}"),
                        "--set-json",
                        r#"extraArgs=["--policies","crd"]"#,
                        "--wait",
                        "--timeout",
                        &wait,
                    ]),
                    self.wait + QUICK,
                )?;
            }
            _ => {
                self.step(&format!("applying deploy/manifests with {}", self.image));
                run(
                    &mut self.kubectl(["apply", "-f", "deploy/manifests"]),
                    QUICK,
                )?;
                run(
                    &mut self.kubectl([
                        "-n",
                        NAMESPACE,
                        "set",
                        "image",
                        "deploy/kev",
                        &format!("kev={}", self.image),
                    ]),
                    QUICK,
                )?;
                let add_args = r#"[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--policies"},{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"crd"}]"#;
                let args = run(
                    &mut self.kubectl([
                        "-n",
                        NAMESPACE,
                        "get",
                        "deploy/kev",
                        "-o",
                        "jsonpath={.spec.template.spec.containers[0].args}",
                    ]),
                    QUICK,
                )?;
                if !args.contains("--policies") {
                    run(
                        &mut self.kubectl([
                            "-n",
                            NAMESPACE,
                            "patch",
                            "deploy/kev",
                            "--type",
                            "json",
                            "-p",
                            add_args,
                        ]),
                        QUICK,
                    )?;
                }
            }
        }
        run(
            &mut self.kubectl([
                "-n",
                NAMESPACE,
                "rollout",
                "status",
                "deploy/kev",
                &format!("--timeout={}s", self.wait.as_secs()),
            ]),
            self.wait + QUICK,
        )?;
        Ok(())
    }

    /// Stored events, through kev inside its pod (its read API is on the pod's loopback).
    fn query_events(&self) -> anyhow::Result<Vec<Value>> {
        let out = run(
            &mut self.kubectl([
                "-n",
                NAMESPACE,
                "exec",
                "deploy/kev",
                "--",
                "/kev",
                "query",
                "-n",
                TEST_NAMESPACE,
                "-o",
                "json",
                "--limit",
                "1000",
            ]),
            QUICK,
        )?;
        parse_json_lines(&out)
    }

    /// `kev_events_received_total` summed over its series, scraped through the API
    /// server's service proxy the way Prometheus reads the endpoint.
    fn scrape_received(&self) -> anyhow::Result<f64> {
        let text = run(
            &mut self.kubectl([
                "get",
                "--raw",
                &format!("/api/v1/namespaces/{NAMESPACE}/services/kev:metrics/proxy/metrics"),
            ]),
            QUICK,
        )?;
        Ok(sum_metric(&text, "kev_events_received_total"))
    }

    /// Prints what helps to see why a check failed, before anything is cleaned up.
    fn diagnose(&self) {
        let probes: [&[&str]; 4] = [
            &["-n", NAMESPACE, "get", "pods,eventpolicies", "-o", "wide"],
            &["-n", NAMESPACE, "logs", "deploy/kev", "--tail=100"],
            &["-n", TEST_NAMESPACE, "get", "pods,events", "-o", "wide"],
            &["-n", TEST_NAMESPACE, "logs", "deploy/webhook", "--tail=20"],
        ];
        for args in probes {
            let mut cmd = self.kubectl(args);
            let line = exec::command_line(&cmd);
            match run(&mut cmd, QUICK) {
                Ok(out) => eprintln!("e2e: $ {line}\n{out}"),
                Err(e) => eprintln!("e2e: $ {line}\n{e:#}"),
            }
        }
    }

    fn clean_up(&self, created_cluster: bool) -> anyhow::Result<()> {
        if created_cluster {
            if let (Target::Kind { cluster }, Some(kind)) = (self.args.target(), &self.tools.kind) {
                self.step(&format!("deleting kind cluster {cluster}"));
                let mut cmd = Command::new(kind);
                cmd.args(["delete", "cluster", "--name", &cluster]);
                if self
                    .tools
                    .engine
                    .as_ref()
                    .is_some_and(|e| e.name == "podman")
                {
                    cmd.env("KIND_EXPERIMENTAL_PROVIDER", "podman");
                }
                run(&mut cmd, Duration::from_secs(300))?;
            }
            return Ok(());
        }
        self.step("removing the test workloads and policy");
        run(
            &mut self.kubectl([
                "delete",
                "--ignore-not-found",
                "-f",
                "deploy/e2e/eventpolicy.yaml",
                "-f",
                "deploy/e2e/webhook-receiver.yaml",
            ]),
            Duration::from_secs(300),
        )?;
        Ok(())
    }
}

/// `repo/name:tag` → (`repo/name`, `tag`); a digest or a missing tag is refused.
pub fn split_image(image: &str) -> anyhow::Result<(String, String)> {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(colon) if !image.contains('@') => {
            let at = last_slash + colon;
            Ok((image[..at].to_owned(), image[at + 1..].to_owned()))
        }
        _ => bail!("image {image:?} needs an explicit tag (repository:tag)"),
    }
}

/// One JSON value per line, as `kev query -o json` prints.
fn parse_json_lines(text: &str) -> anyhow::Result<Vec<Value>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("not JSON: {l}")))
        .collect()
}

/// The sum of every series of `name` in a Prometheus text exposition.
pub fn sum_metric(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            // `name{labels} value` or `name value`, not a longer name with this prefix.
            let rest = match rest.chars().next()? {
                '{' => &rest[rest.find('}')? + 1..],
                ' ' => rest,
                _ => return None,
            };
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::ffi::OsString;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        e2e: E2eArgs,
    }

    fn parse(args: &[&str]) -> Result<E2eArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("e2e").chain(args.iter().copied())).map(|c| c.e2e)
    }

    fn path_of(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    fn fake_tool(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn defaults_target_a_kind_cluster_with_the_locally_built_image() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.target(),
            Target::Kind {
                cluster: "kev-e2e".into()
            }
        );
        assert_eq!(args.image(), KIND_IMAGE);
        assert!(!args.no_helm && !args.keep);
        assert_eq!(args.timeout_secs, 300);
        let args = parse(&["--cluster", "mine", "--no-helm", "--keep"]).unwrap();
        assert_eq!(
            args.target(),
            Target::Kind {
                cluster: "mine".into()
            }
        );
        assert!(args.no_helm && args.keep);
    }

    #[test]
    fn kubeconfig_or_context_target_an_existing_cluster() {
        let args = parse(&["--kubeconfig", "/tmp/kc", "--context", "prod"]).unwrap();
        assert_eq!(
            args.target(),
            Target::Existing {
                kubeconfig: Some("/tmp/kc".into()),
                context: Some("prod".into())
            }
        );
        assert_eq!(args.image(), RELEASED_IMAGE);
        let args = parse(&["--context", "prod", "--image", "reg.local/kev:dev"]).unwrap();
        assert_eq!(args.image(), "reg.local/kev:dev");
        let err = parse(&["--cluster", "x", "--context", "prod"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(parse(&["--timeout-secs", "soon"]).is_err());
    }

    #[test]
    fn without_kind_on_path_preflight_stops_at_once_naming_kind() {
        let empty = tempfile::tempdir().unwrap();
        let args = parse(&[]).unwrap();
        let err = preflight(&args, &path_of(&[empty.path()])).unwrap_err();
        assert!(err.to_string().contains("`kind` is not on PATH"), "{err}");
        // Everything else present does not help: kind is still missing.
        let others = tempfile::tempdir().unwrap();
        for tool in ["docker", "podman", "kubectl", "helm"] {
            fake_tool(others.path(), tool, "exit 0");
        }
        let err = preflight(&args, &path_of(&[others.path()])).unwrap_err();
        assert!(err.to_string().contains("`kind` is not on PATH"), "{err}");
    }

    #[test]
    fn an_engine_whose_daemon_does_not_answer_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        fake_tool(dir.path(), "kind", "exit 0");
        fake_tool(
            dir.path(),
            "docker",
            "echo 'Cannot connect to the Docker daemon' >&2; exit 1",
        );
        fake_tool(dir.path(), "kubectl", "exit 0");
        fake_tool(dir.path(), "helm", "exit 0");
        let err = preflight(&parse(&[]).unwrap(), &path_of(&[dir.path()])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`docker info` failed") && text.contains("Cannot connect"),
            "{text}"
        );
        assert!(text.contains("`podman` is not on PATH"), "{text}");
        // With a daemon that answers, every tool is found.
        fake_tool(dir.path(), "docker", "echo abc");
        let tools = preflight(&parse(&[]).unwrap(), &path_of(&[dir.path()])).unwrap();
        assert_eq!(tools.engine.unwrap().name, "docker");
        assert!(tools.kind.is_some() && tools.helm.is_some());
    }

    #[test]
    fn an_existing_cluster_needs_only_kubectl_and_helm() {
        let dir = tempfile::tempdir().unwrap();
        fake_tool(dir.path(), "kubectl", "exit 0");
        let path = path_of(&[dir.path()]);
        let existing = parse(&["--context", "prod"]).unwrap();
        let err = preflight(&existing, &path).unwrap_err();
        assert!(err.to_string().contains("--no-helm"), "{err}");
        let tools = preflight(&parse(&["--context", "prod", "--no-helm"]).unwrap(), &path).unwrap();
        assert!(tools.kind.is_none() && tools.engine.is_none() && tools.helm.is_none());
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(
            split_image("localhost:5000/kev-dev/kev:e2e").unwrap(),
            ("localhost:5000/kev-dev/kev".into(), "e2e".into())
        );
        assert!(split_image("localhost:5000/kev").is_err());
        assert!(split_image("kev@sha256:abc").is_err());
    }

    #[test]
    fn metric_sums_take_every_series_and_only_that_metric() {
        let text = "# TYPE kev_events_received_total counter\n\
            kev_events_received_total{source=\"kube\",type=\"Normal\"} 3\n\
            kev_events_received_total{source=\"kube\",type=\"Warning\"} 4.5\n\
            kev_events_received_total_extra 100\n\
            kev_events_stored_total 7\n";
        assert_eq!(sum_metric(text, "kev_events_received_total"), 7.5);
        assert_eq!(sum_metric(text, "kev_missing_total"), 0.0);
    }

    #[test]
    fn query_output_is_read_as_json_lines() {
        let events =
            parse_json_lines("{\"reason\":\"BackOff\"}\n\n{\"reason\":\"Pulled\"}\n").unwrap();
        assert_eq!(events.len(), 2);
        assert!(parse_json_lines("No events found.").is_err());
    }
}
