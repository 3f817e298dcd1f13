//! `cargo xtask bench`: one table over every criterion benchmark in the workspace, and
//! one over the workload benches that report figures of their own (latency quantiles,
//! drain rate, RSS) as JSON under `target/kev-bench/` (kev-sinks' `delivery` bench).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use serde_json::Value;

/// One measured benchmark.
struct Row {
    id: String,
    mean_ns: f64,
    /// Elements (events, decisions…) or bytes per iteration, when the bench declared it.
    throughput: Option<(String, f64)>,
}

pub fn run(filter: Option<&str>, no_run: bool) -> anyhow::Result<ExitCode> {
    let root = workspace_root()?;
    if !no_run {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(&root)
            .args(["bench", "--workspace", "--all-features", "--"]);
        if let Some(f) = filter {
            cmd.arg(f);
        }
        let status = cmd.status().context("cannot run cargo bench")?;
        if !status.success() {
            bail!("cargo bench failed ({status})");
        }
    }
    let mut rows = Vec::new();
    collect(&root.join("target/criterion"), &mut rows)?;
    rows.retain(|r| filter.is_none_or(|f| r.id.contains(f)));
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let mut workloads = read_workloads(&root.join("target/kev-bench"))?;
    workloads.retain(|w| filter.is_none_or(|f| w.id.contains(f)));
    let queries = if no_run {
        Vec::new()
    } else {
        crate::rss::query_rows(&root, filter)?
    };
    if rows.is_empty() && workloads.is_empty() && queries.is_empty() {
        bail!("no criterion results under target/criterion and none under target/kev-bench");
    }
    let mut tables = 0;
    if !rows.is_empty() {
        print_table(&rows);
        tables += 1;
    }
    if !workloads.is_empty() {
        if tables > 0 {
            println!();
        }
        print_workloads(&workloads);
        tables += 1;
    }
    if !queries.is_empty() {
        if tables > 0 {
            println!();
        }
        print_query_table(&queries);
    }
    Ok(ExitCode::SUCCESS)
}

/// One workload bench result: what it measured, in its own words, and its cost.
struct Workload {
    id: String,
    summary: String,
    wall_s: f64,
    cpu_s: f64,
}

fn read_workloads(dir: &Path) -> anyhow::Result<Vec<Workload>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        out.push(Workload {
            id: v["id"].as_str().unwrap_or("?").to_owned(),
            summary: v["summary"].as_str().unwrap_or("").to_owned(),
            wall_s: v["wall_s"].as_f64().unwrap_or(f64::NAN),
            cpu_s: v["cpu_s"].as_f64().unwrap_or(f64::NAN),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn print_workloads(rows: &[Workload]) {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(10).max(8);
    println!(
        "{:<width$}  {:>8}  {:>7}  result",
        "workload", "wall", "cpu"
    );
    for row in rows {
        println!(
            "{:<width$}  {:>6.1} s  {:>5.1} s  {}",
            row.id, row.wall_s, row.cpu_s, row.summary
        );
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Finds every `new/benchmark.json` with its `estimates.json` below `dir`.
fn collect(dir: &Path, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n == "report" || n == "base" || n == "change")
        {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(row) = read_row(&path)? {
                rows.push(row);
            }
        } else if path.is_dir() {
            collect(&path, rows)?;
        }
    }
    Ok(())
}

fn read_row(dir: &Path) -> anyhow::Result<Option<Row>> {
    let read = |name: &str| -> anyhow::Result<Option<Value>> {
        let path = dir.join(name);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
        ))
    };
    let (Some(bench), Some(estimates)) = (read("benchmark.json")?, read("estimates.json")?) else {
        return Ok(None);
    };
    let id = bench["full_id"].as_str().unwrap_or("?").to_owned();
    let Some(mean_ns) = estimates["mean"]["point_estimate"].as_f64() else {
        return Ok(None);
    };
    let throughput = bench["throughput"].as_object().and_then(|t| {
        t.iter()
            .next()
            .and_then(|(kind, n)| n.as_f64().map(|n| (kind.to_lowercase(), n)))
    });
    Ok(Some(Row {
        id,
        mean_ns,
        throughput,
    }))
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(10).max(9);
    println!(
        "{:<width$}  {:>14}  {:>22}",
        "benchmark", "mean/iter", "throughput"
    );
    for row in rows {
        let per_sec = row
            .throughput
            .as_ref()
            .map_or(String::from("-"), |(kind, n)| {
                let rate = n / (row.mean_ns / 1e9);
                if kind == "bytes" {
                    format!("{:.1} MiB/s", rate / (1024.0 * 1024.0))
                } else {
                    format!("{} {kind}/s", human(rate))
                }
            });
        println!(
            "{:<width$}  {:>14}  {:>22}",
            row.id,
            duration(row.mean_ns),
            per_sec
        );
    }
}

/// The `kev query` runs: peak RSS, CPU and wall time.
fn print_query_table(rows: &[crate::rss::QueryRow]) {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(10).max(9);
    println!();
    println!(
        "{:<width$}  {:>12}  {:>10}  {:>10}",
        "command", "max RSS", "CPU", "wall"
    );
    for row in rows {
        let u = &row.usage;
        println!(
            "{:<width$}  {:>12}  {:>10}  {:>10}",
            row.id,
            format!("{:.1} MiB", u.max_rss_kib as f64 / 1024.0),
            format!("{:.0} ms", (u.user_s + u.system_s) * 1e3),
            format!("{:.0} ms", u.wall_s * 1e3),
        );
    }
}

fn duration(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

fn human(rate: f64) -> String {
    match rate {
        r if r >= 1e6 => format!("{:.2}M", r / 1e6),
        r if r >= 1e3 => format!("{:.1}k", r / 1e3),
        r => format!("{r:.0}"),
    }
}
