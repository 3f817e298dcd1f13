//! Picks `first_seen` and `last_seen` among the many time fields of the two API groups.
//!
//! ```text
//! last_seen  = series.lastObservedTime ?? lastTimestamp ?? deprecatedLastTimestamp
//!              ?? eventTime ?? firstTimestamp ?? deprecatedFirstTimestamp
//!              ?? metadata.creationTimestamp
//! first_seen = firstTimestamp ?? deprecatedFirstTimestamp ?? eventTime ?? last_seen
//! first_seen is clamped to last_seen when it is later (writers with skewed clocks).
//! ```
//! A missing field, JSON `null`, `""` and the string `"null"` all count as absent.

use jiff::Timestamp;

use super::{KubeEvent, NormalizeError};

/// The two times of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Times {
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

/// True for the values that mean "no value": `""` and the string `"null"`.
pub(crate) fn is_absent(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == "null"
}

/// Parses one time field: RFC 3339, with or without fractional seconds (MicroTime).
pub(crate) fn parse(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<Timestamp>, NormalizeError> {
    let Some(value) = value.filter(|v| !is_absent(v)) else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<Timestamp>()
        .map(Some)
        .map_err(|e| NormalizeError::InvalidField {
            field,
            detail: format!("{value:?} is not an RFC 3339 time: {e}"),
        })
}

/// First and last seen of `raw`, by the rules in the module docs.
pub(crate) fn pick(raw: &KubeEvent) -> Result<Times, NormalizeError> {
    let series_last = raw
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_deref());
    let event_time = || parse("eventTime", raw.event_time.as_deref());
    let first_recorded = || -> Result<Option<Timestamp>, NormalizeError> {
        Ok(
            match parse("firstTimestamp", raw.first_timestamp.as_deref())? {
                Some(t) => Some(t),
                None => parse(
                    "deprecatedFirstTimestamp",
                    raw.deprecated_first_timestamp.as_deref(),
                )?,
            },
        )
    };

    let mut last = parse("series.lastObservedTime", series_last)?;
    if last.is_none() {
        last = parse("lastTimestamp", raw.last_timestamp.as_deref())?;
    }
    if last.is_none() {
        last = parse(
            "deprecatedLastTimestamp",
            raw.deprecated_last_timestamp.as_deref(),
        )?;
    }
    if last.is_none() {
        last = event_time()?;
    }
    if last.is_none() {
        last = first_recorded()?;
    }
    if last.is_none() {
        last = parse(
            "metadata.creationTimestamp",
            raw.metadata.creation_timestamp.as_deref(),
        )?;
    }

    let mut first = first_recorded()?;
    if first.is_none() {
        first = event_time()?;
    }
    let first = match (first, last) {
        (Some(f), Some(l)) if f > l => Some(l),
        (None, l) => l,
        (f, _) => f,
    };
    Ok(Times {
        first_seen: first,
        last_seen: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<Timestamp> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn core_v1_uses_first_and_last_timestamp() {
        let raw = KubeEvent {
            first_timestamp: Some("2022-03-08T00:11:14Z".into()),
            last_timestamp: Some("2022-03-22T23:46:53Z".into()),
            event_time: Some("null".into()),
            ..Default::default()
        };
        let t = pick(&raw).unwrap();
        assert_eq!(t.first_seen, ts("2022-03-08T00:11:14Z"));
        assert_eq!(t.last_seen, ts("2022-03-22T23:46:53Z"));
    }

    #[test]
    fn event_time_only_gives_both_times() {
        let raw = KubeEvent {
            first_timestamp: Some("null".into()),
            last_timestamp: Some(String::new()),
            event_time: Some("2022-03-22T23:49:14.123518Z".into()),
            ..Default::default()
        };
        let t = pick(&raw).unwrap();
        assert_eq!(t.first_seen, ts("2022-03-22T23:49:14.123518Z"));
        assert_eq!(t.last_seen, t.first_seen);
    }

    #[test]
    fn series_last_observed_time_wins_for_last_seen() {
        let raw = KubeEvent {
            event_time: Some("2023-07-11T05:34:44.000000Z".into()),
            series: Some(crate::normalize::KubeEventSeries {
                count: Some(3),
                last_observed_time: Some("2023-07-11T05:36:10.337617Z".into()),
            }),
            ..Default::default()
        };
        let t = pick(&raw).unwrap();
        assert_eq!(t.first_seen, ts("2023-07-11T05:34:44Z"));
        assert_eq!(t.last_seen, ts("2023-07-11T05:36:10.337617Z"));
    }

    #[test]
    fn creation_timestamp_is_the_last_resort() {
        let mut raw = KubeEvent::default();
        raw.metadata.creation_timestamp = Some("2021-08-03T09:22:38Z".into());
        let t = pick(&raw).unwrap();
        assert_eq!(t.first_seen, ts("2021-08-03T09:22:38Z"));
        assert_eq!(t.last_seen, t.first_seen);
        assert_eq!(pick(&KubeEvent::default()).unwrap(), Times::default());
    }

    #[test]
    fn first_after_last_is_clamped() {
        let raw = KubeEvent {
            first_timestamp: Some("2022-01-01T00:00:10Z".into()),
            last_timestamp: Some("2022-01-01T00:00:05Z".into()),
            ..Default::default()
        };
        let t = pick(&raw).unwrap();
        assert_eq!(t.first_seen, t.last_seen);
    }

    #[test]
    fn garbage_time_names_the_field() {
        let raw = KubeEvent {
            last_timestamp: Some("yesterday".into()),
            ..Default::default()
        };
        let err = pick(&raw).unwrap_err();
        assert!(
            matches!(
                err,
                NormalizeError::InvalidField {
                    field: "lastTimestamp",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
