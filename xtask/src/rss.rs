//! `cargo xtask rss -- CMD…` runs one command and reports its peak memory and CPU time;
//! [`query_rows`] runs the real `kev query` on the bench stores that way for the bench table.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};
use serde_json::Value;

/// Peak resident memory and CPU time of one finished command.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub max_rss_kib: i64,
    pub user_s: f64,
    pub system_s: f64,
    pub wall_s: f64,
}

/// Runs `cmd` (its stdout discarded) as this process's only child and reads its usage
/// from `getrusage(RUSAGE_CHILDREN)`: the peak RSS of the children waited for, here
/// exactly that one.
pub fn run_measured(cmd: &[String]) -> anyhow::Result<Usage> {
    let (program, args) = cmd.split_first().context("no command given")?;
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{program} failed ({status})");
    }
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(Usage {
        max_rss_kib: usage.max_rss(),
        user_s: secs(usage.user_time()),
        system_s: secs(usage.system_time()),
        wall_s,
    })
}

/// `xtask rss -- CMD…`: prints `max_rss_kib user_s system_s wall_s` on one line.
pub fn run(cmd: &[String]) -> anyhow::Result<ExitCode> {
    let u = run_measured(cmd)?;
    println!(
        "{} {:.3} {:.3} {:.3}",
        u.max_rss_kib, u.user_s, u.system_s, u.wall_s
    );
    Ok(ExitCode::SUCCESS)
}

/// One `kev query` run of the bench table.
pub struct QueryRow {
    pub id: String,
    pub usage: Usage,
}

/// Builds the release `kev` and runs `kev query` on every redb bench store under
/// `<root>/target/bench-stores` (left there by `cargo bench -p kev-storage-redb`): the
/// bench's namespace over its hour, and `-A --limit 100`. Each run goes through a fresh
/// `xtask rss` so that the peak RSS is kev's alone.
pub fn query_rows(root: &Path, filter: Option<&str>) -> anyhow::Result<Vec<QueryRow>> {
    let stores = root.join("target/bench-stores");
    let Ok(entries) = std::fs::read_dir(&stores) else {
        return Ok(Vec::new());
    };
    let mut dirs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("redb-"))
                && p.join("bench-query.json").exists()
        })
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["build", "--release", "-p", "kev-cli"])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p kev-cli failed ({status})");
    }
    let kev = root.join("target/release/kev");
    let me = std::env::current_exe().context("cannot find the xtask binary")?;
    let mut rows = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("redb")
            .to_owned();
        let n = name.trim_start_matches("redb-");
        let text = std::fs::read_to_string(dir.join("bench-query.json"))?;
        let q: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing {}/bench-query.json", dir.display()))?;
        let field = |k: &str| {
            q[k].as_str()
                .map(str::to_owned)
                .with_context(|| format!("{}/bench-query.json has no {k}", dir.display()))
        };
        let base = [
            kev.display().to_string(),
            "query".into(),
            "--store".into(),
            "redb".into(),
            "--store-path".into(),
            dir.display().to_string(),
        ];
        let namespace_hour = [
            "-n".to_owned(),
            field("namespace")?,
            "--since".into(),
            field("since")?,
            "--until".into(),
            field("until")?,
        ];
        let all_latest = ["-A".to_owned(), "--limit".into(), "100".into()];
        for (what, args) in [
            ("namespace_1h", &namespace_hour[..]),
            ("all_limit100", &all_latest[..]),
        ] {
            let id = format!("kev-query/{what}_of_{n}");
            if filter.is_some_and(|f| !id.contains(f)) {
                continue;
            }
            let out = Command::new(&me)
                .arg("rss")
                .arg("--")
                .args(base.iter().chain(args))
                .output()
                .context("cannot run xtask rss")?;
            if !out.status.success() {
                bail!("{id}: {}", String::from_utf8_lossy(&out.stderr).trim_end());
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Vec<f64> = text
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            let [rss, user_s, system_s, wall_s] = v[..] else {
                bail!("{id}: unexpected xtask rss output {text:?}");
            };
            rows.push(QueryRow {
                id,
                usage: Usage {
                    max_rss_kib: rss as i64,
                    user_s,
                    system_s,
                    wall_s,
                },
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child_and_reports_its_failure() {
        let cmd = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let u = run_measured(&cmd(&["sh", "-c", "exit 0"])).unwrap();
        assert!(u.max_rss_kib > 0 && u.wall_s >= 0.0, "{u:?}");
        let err = run_measured(&cmd(&["sh", "-c", "exit 3"])).unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
        assert!(run_measured(&[]).is_err());
    }
}
