//! The [`Normalizer`] trait and [`DefaultNormalizer`]: a raw core/v1 or events.k8s.io/v1
//! Event becomes an [`Event`].

mod config;
mod default;
mod identity;
mod raw;
mod redact;
mod time;
mod truncate;

pub use config::{DEFAULT_PATTERNS, NormalizeConfig};
pub use default::DefaultNormalizer;
pub use raw::{KubeEvent, KubeEventSeries, KubeEventSource, KubeMeta, KubeObjectRef};
pub use redact::{REDACTED, Redactor};
pub use truncate::truncate_utf8;

use crate::event::Event;

/// Why a raw object could not be normalized; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    #[error("not an Event: kind is {0:?}")]
    NotAnEvent(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("invalid field {field}: {detail}")]
    InvalidField { field: &'static str, detail: String },
    #[error("malformed JSON: {0}")]
    Malformed(String),
}

impl NormalizeError {
    /// A label from a bounded set, for `kev_events_normalize_errors_total{reason}`.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::NotAnEvent(_) => "not_an_event",
            Self::MissingField(_) => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::Malformed(_) => "malformed",
        }
    }
}

/// Turns raw events into kev's model: picks times, maps the two API shapes onto one,
/// truncates and redacts messages.
pub trait Normalizer: Send + Sync + std::fmt::Debug {
    fn normalize(&self, raw: KubeEvent) -> Result<Event, NormalizeError>;

    /// Sanitizes an event that is already in kev's model (replayed kev output):
    /// truncation and redaction apply again, the rest is kept.
    fn sanitize(&self, event: Event) -> Event;
}
