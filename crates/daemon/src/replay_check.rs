//! [`nothing_read`]: a replay that read no event at all and met bad input did nothing
//! the user wanted, so it ends as a usage error instead of a quiet exit 0.

use kev_core::source::replay::ReplayStats;

use crate::error::DaemonError;

/// What kev replays, in one sentence for the error.
const EXPECTED: &str = "kev replays Kubernetes Events as `kubectl get events -o json` or \
     `-o yaml` (an EventList), one Event or watch record per line \
     (`kubectl get events -w -o json`), or YAML documents of Events";

/// The error for a replay of `path` that read no event and met bad input, if it did.
pub(crate) fn nothing_read(path: &str, stats: &ReplayStats) -> Option<DaemonError> {
    if stats.events > 0 || stats.errors == 0 {
        return None;
    }
    let looked = stats.format.unwrap_or("unreadable");
    let first = stats
        .issues
        .first()
        .map(|issue| format!(", the first at {}: {}", issue.location, issue.detail))
        .unwrap_or_default();
    Some(DaemonError::Usage(format!(
        "replay of {path} read no event: it looked like {looked}, with {} bad item{}{first}; \
         {EXPECTED}",
        stats.errors,
        if stats.errors == 1 { "" } else { "s" },
    )))
}

#[cfg(test)]
mod tests {
    use kev_core::source::replay::ReplayIssue;

    use super::*;

    fn stats(events: u64, errors: u64) -> ReplayStats {
        ReplayStats {
            events,
            errors,
            issues: vec![ReplayIssue {
                location: "notes.txt: line 1".into(),
                reason: "not_an_object",
                detail: "expected a mapping".into(),
            }],
            format: Some("YAML or plain text"),
            ..ReplayStats::default()
        }
    }

    #[test]
    fn only_a_replay_with_bad_input_and_no_event_is_an_error() {
        let err = nothing_read("notes.txt", &stats(0, 3)).unwrap();
        assert!(err.is_usage());
        let text = err.to_string();
        assert!(
            text.starts_with("replay of notes.txt read no event: it looked like YAML or plain text, with 3 bad items, the first at notes.txt: line 1: expected a mapping;"),
            "{text}"
        );
        assert!(text.contains("kubectl get events -o json"), "{text}");
        assert!(nothing_read("notes.txt", &stats(1, 3)).is_none());
        assert!(nothing_read("empty.json", &ReplayStats::default()).is_none());
    }
}
