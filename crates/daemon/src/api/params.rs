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
    #[arg(long)]
    pub kind: Option<String>,
    /// Involved object name.
    #[arg(long)]
    pub name: Option<String>,
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
        Ok(Query {
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
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
}
