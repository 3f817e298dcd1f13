//! A real Prometheus server for the suites: started on a free port with a config that
//! scrapes the given targets every second, asked through its HTTP API.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::daemon::free_port;
use crate::tools::PrometheusTools;

/// A running `prometheus`, killed when dropped.
#[derive(Debug)]
pub struct Prometheus {
    _child: Child,
    url: String,
    http: reqwest::Client,
}

impl Prometheus {
    /// Starts `prometheus` with its data in `dir`, scraping each `(job, host:port)`.
    pub fn start(tools: &PrometheusTools, dir: &Path, targets: &[(&str, &str)]) -> Self {
        let jobs: String = targets
            .iter()
            .map(|(job, target)| {
                format!("  - job_name: {job}\n    static_configs: [{{targets: [\"{target}\"]}}]\n")
            })
            .collect();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n{jobs}"
            ),
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
        let listen = format!("127.0.0.1:{}", free_port());
        let log = dir.join("prometheus.log");
        let log = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = Command::new(&tools.prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.prometheus.display()));
        Self {
            _child: child,
            url: format!("http://{listen}"),
            http: reqwest::Client::new(),
        }
    }

    /// The value of an instant `/api/v1/query` with one result; `None` while Prometheus
    /// is not up, the query has no result yet, or it has several.
    pub async fn value(&self, query: &str) -> Option<f64> {
        let text = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let body: Value = serde_json::from_str(&text).ok()?;
        let result = body["data"]["result"].as_array()?;
        let [one] = result.as_slice() else {
            return None;
        };
        one["value"][1].as_str()?.parse().ok()
    }
}
