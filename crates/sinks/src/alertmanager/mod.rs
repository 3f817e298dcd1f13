//! The Alertmanager sink ([`AlertmanagerSink`]): events become alerts POSTed to
//! Alertmanager's API v2 (`POST /api/v2/alerts`), with a bounded label set (alertname
//! from the reason, namespace, kind, name, cluster, severity from the type),
//! annotations from templates, and `endsAt` set when the object recovers (the recovery
//! reasons of `kev_core::condition::table`) or after `resolve_timeout`.

mod alert;
mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use alert::{Alert, Alerts};
pub use config::{AlertLabel, AlertmanagerSinkConfig, MAX_LABELS};
pub use sink::AlertmanagerSink;
