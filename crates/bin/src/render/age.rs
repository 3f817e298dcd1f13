//! Ages the way kubectl prints them (`k8s.io/apimachinery/pkg/util/duration.HumanDuration`).

use std::time::Duration;

/// `2m30s`, `45m`, `3h20m`, `5d`, `2y30d` — the same rounding as kubectl.
///
/// `None` is a negative age beyond kubectl's 2 s tolerance for clock skew.
pub fn human_duration(age: Option<Duration>) -> String {
    let Some(d) = age else {
        return "<invalid>".into();
    };
    let secs = d.as_secs();
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let years = hours / 24 / 365;
        return match (hours / 24) % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Age of `then` at `now`: within 2 s in the future counts as now, beyond is invalid.
pub fn age(now: jiff::Timestamp, then: jiff::Timestamp) -> Option<Duration> {
    let d = now.duration_since(then);
    if d.as_secs() < -1 {
        return None;
    }
    Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kubectl_rounding() {
        let cases = [
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 20 * 60, "3h20m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (2 * 86_400 + 5 * 3600, "2d5h"),
            (8 * 86_400, "8d"),
            (400 * 86_400, "400d"),
            (2 * 365 * 86_400, "2y"),
            (2 * 365 * 86_400 + 30 * 86_400, "2y30d"),
            (9 * 365 * 86_400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                human_duration(Some(Duration::from_secs(secs))),
                want,
                "{secs}s"
            );
        }
        assert_eq!(human_duration(None), "<invalid>");
    }

    #[test]
    fn small_clock_skew_is_now_and_large_is_invalid() {
        let now = jiff::Timestamp::from_second(1_000_000).unwrap();
        assert_eq!(
            age(now, jiff::Timestamp::from_second(1_000_001).unwrap()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            age(now, jiff::Timestamp::from_second(1_000_010).unwrap()),
            None
        );
    }
}
