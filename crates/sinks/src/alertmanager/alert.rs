//! [`Alert`]: Alertmanager's API v2 alert (`postableAlert`), and [`Alerts`], a batch of
//! them with one alert per label set (the last word on it, from its first start).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One alert of `POST /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Absent on a resolving alert: Alertmanager keeps the start it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    #[serde(
        rename = "generatorURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generator_url: Option<String>,
}

/// The alerts of one batch, one per label set, in the order each set first appeared:
/// Alertmanager keys an alert by its labels, so two for the same set in one request
/// would only race.
///
/// ```
/// use std::collections::BTreeMap;
/// use kev_sinks::alertmanager::{Alert, Alerts};
/// let at = |s| Some(jiff::Timestamp::from_second(s).unwrap());
/// let alert = |start, end| Alert {
///     labels: BTreeMap::from([("alertname".into(), "BackOff".into())]),
///     annotations: BTreeMap::new(), starts_at: start, ends_at: end, generator_url: None,
/// };
/// let mut alerts = Alerts::default();
/// alerts.push(alert(at(10), at(310)));
/// alerts.push(alert(None, at(60))); // resolved
/// let [one] = alerts.into_vec().try_into().unwrap();
/// assert_eq!((one.starts_at, one.ends_at), (at(10), at(60)));
/// ```
#[derive(Debug, Default)]
pub struct Alerts {
    alerts: Vec<Alert>,
}

impl Alerts {
    /// Adds `alert`; one with the same labels is replaced, keeping the earlier start.
    pub fn push(&mut self, alert: Alert) {
        match self.alerts.iter_mut().find(|a| a.labels == alert.labels) {
            Some(known) => {
                let starts_at = match (known.starts_at, alert.starts_at) {
                    // A firing after a resolve in the same batch is a new alert.
                    (_, None) => known.starts_at,
                    (Some(a), Some(b)) if known.ends_at.is_none_or(|end| end >= b) => {
                        Some(a.min(b))
                    }
                    (_, b) => b,
                };
                *known = Alert { starts_at, ..alert };
            }
            None => self.alerts.push(alert),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    pub fn into_vec(self) -> Vec<Alert> {
        self.alerts
    }
}
