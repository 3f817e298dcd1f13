//! Query filters shared by the `kev query`/`tail`/`stats` flags and the daemon's
//! `/api/v1/events` parameters, and their translation into [`kev_core::Query`].

use clap::Args;
use kev_core::config::parse_duration;
use kev_core::{EventType, Order, Query};
use serde::{Deserialize, Serialize};

use crate::error::DaemonError;

/// Filters of `kev query`, `kev tail` and `kev stats`, and the daemon API's
/// `/api/v1/events` parameters (flat, as URL query strings need).
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryParams {
    /// Only this namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Involved object kind (`Pod`, `deployment`, …; case-insensitive).
    #[arg(long, conflicts_with = "for_object")]
    pub kind: Option<String>,
    /// Involved object name.
    #[arg(long, conflicts_with = "for_object")]
    pub name: Option<String>,
    /// KIND/NAME (`deployment/web`, `rs/web-7d4b9c8f6`, `pod/NAME`, `node/NAME`): the
    /// events of that object and of everything it owns or owned (its ReplicaSets, their
    /// Pods, …), by the owner chains stored with the events.
    #[arg(long = "for", value_name = "KIND/NAME")]
    #[serde(rename = "for")]
    pub for_object: Option<String>,
    /// Reason, exact (`BackOff`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Event type: Normal or Warning.
    #[arg(long = "type")]
    pub r#type: Option<String>,
    /// Events last seen within this long ago (`1h`, `30m`, `7d`) or since an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Events last seen before this long ago or before an RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Substring of the message.
    #[arg(long)]
    pub grep: Option<String>,
    /// Reporting controller (`kubelet`, `default-scheduler`, …).
    #[arg(long)]
    pub controller: Option<String>,
    /// Cluster name (fleet stores).
    #[arg(long)]
    pub cluster: Option<String>,
    /// At most this many events (set by each command's own flag).
    #[arg(skip)]
    pub limit: Option<usize>,
    /// Oldest first instead of newest first.
    #[arg(skip)]
    pub oldest_first: bool,
    /// Only the latest version of each event.
    #[arg(skip)]
    pub collapse: bool,
}

impl QueryParams {
    /// The store query for these filters, relative times taken at `now`.
    pub fn to_query(&self, now: jiff::Timestamp) -> Result<Query, DaemonError> {
        let (kind, name) = match &self.for_object {
            Some(text) => {
                let (kind, name) = parse_for(text)?;
                (Some(kind), Some(name))
            }
            None => (self.kind.clone(), self.name.clone()),
        };
        Ok(Query {
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            kind,
            name,
            owned: self.for_object.is_some(),
            reason: self.reason.clone(),
            r#type: self.r#type.as_deref().map(parse_type).transpose()?,
            since: self
                .since
                .as_deref()
                .map(|s| parse_time("--since", s, now))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time("--until", s, now))
                .transpose()?,
            reporting_controller: self.controller.clone(),
            message_contains: self.grep.clone(),
            order: if self.oldest_first {
                Order::OldestFirst
            } else {
                Order::NewestFirst
            },
            limit: self.limit,
            collapse: self.collapse,
        })
    }
}

/// `--for KIND/NAME`: the kind (kubectl's short names accepted) and the name.
fn parse_for(text: &str) -> Result<(String, String), DaemonError> {
    let usage =
        |why: &str| DaemonError::Usage(format!("--for {text:?}: {why}, e.g. deployment/web"));
    let (kind, name) = text
        .split_once('/')
        .ok_or_else(|| usage("expected KIND/NAME"))?;
    if kind.is_empty() || name.is_empty() || name.contains('/') {
        return Err(usage("expected KIND/NAME"));
    }
    let kind = match kind.to_ascii_lowercase().as_str() {
        "deploy" | "deployment" | "deployments" => "Deployment",
        "rs" | "replicaset" | "replicasets" => "ReplicaSet",
        "sts" | "statefulset" | "statefulsets" => "StatefulSet",
        "ds" | "daemonset" | "daemonsets" => "DaemonSet",
        "job" | "jobs" => "Job",
        "cj" | "cronjob" | "cronjobs" => "CronJob",
        "po" | "pod" | "pods" => "Pod",
        "no" | "node" | "nodes" => "Node",
        _ => kind,
    };
    Ok((kind.to_owned(), name.to_owned()))
}

fn parse_type(t: &str) -> Result<EventType, DaemonError> {
    match t.to_ascii_lowercase().as_str() {
        "normal" => Ok(EventType::Normal),
        "warning" => Ok(EventType::Warning),
        _ => Err(DaemonError::Usage(format!(
            "--type {t:?}: expected Normal or Warning"
        ))),
    }
}

/// `1h` (that long before `now`) or an RFC 3339 timestamp.
pub fn parse_time(
    flag: &str,
    text: &str,
    now: jiff::Timestamp,
) -> Result<jiff::Timestamp, DaemonError> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let ago = parse_duration(text)
        .map_err(|e| DaemonError::Usage(format!("{flag}: {e}, or an RFC 3339 time")))?;
    let ago = jiff::SignedDuration::try_from(ago)
        .map_err(|e| DaemonError::Usage(format!("{flag}: {e}")))?;
    now.checked_sub(ago)
        .map_err(|e| DaemonError::Usage(format!("{flag} {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_times() {
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let p = QueryParams {
            since: Some("1h".into()),
            until: Some("2026-11-23T11:30:00Z".into()),
            ..Default::default()
        };
        let q = p.to_query(now).unwrap();
        assert_eq!(q.since, Some("2026-11-23T11:00:00Z".parse().unwrap()));
        assert_eq!(q.until, Some("2026-11-23T11:30:00Z".parse().unwrap()));
        let bad = QueryParams {
            since: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(
            bad.to_query(now)
                .unwrap_err()
                .to_string()
                .starts_with("--since")
        );
        let bad = QueryParams {
            r#type: Some("Error".into()),
            ..Default::default()
        };
        assert!(bad.to_query(now).is_err());
    }

    #[test]
    fn for_names_an_object_and_what_it_owns() {
        let now = jiff::Timestamp::now();
        let q = |text: &str| {
            QueryParams {
                for_object: Some(text.into()),
                ..Default::default()
            }
            .to_query(now)
        };
        let deploy = q("deploy/web").unwrap();
        assert_eq!(
            (deploy.kind.as_deref(), deploy.name.as_deref(), deploy.owned),
            (Some("Deployment"), Some("web"), true)
        );
        assert_eq!(q("rs/web-1").unwrap().kind.as_deref(), Some("ReplicaSet"));
        assert_eq!(q("Widget/w").unwrap().kind.as_deref(), Some("Widget"));
        for bad in ["web", "/web", "deployment/", "a/b/c"] {
            let err = q(bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("--for {bad:?}")), "{err}");
        }
        assert!(!QueryParams::default().to_query(now).unwrap().owned);
    }
}
