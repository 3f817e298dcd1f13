//! Metric names, in one place. All start with `kev_`; counters end in `_total`; labels
//! only take values from bounded sets (never a message or an object name).

pub const EVENTS_RECEIVED_TOTAL: &str = "kev_events_received_total";
/// Stored events by type, reason, kind and namespace (each switchable, values bounded).
pub const EVENTS_TOTAL: &str = "kev_events_total";
pub const EVENTS_NORMALIZE_ERRORS_TOTAL: &str = "kev_events_normalize_errors_total";
pub const EVENTS_FILTERED_TOTAL: &str = "kev_events_filtered_total";
pub const EVENTS_DEDUPLICATED_TOTAL: &str = "kev_events_deduplicated_total";
pub const EVENTS_STORED_TOTAL: &str = "kev_events_stored_total";
pub const ROUTE_DECISIONS_TOTAL: &str = "kev_route_decisions_total";
pub const ROUTE_BACKLOG: &str = "kev_route_backlog";
pub const SINK_SENT_TOTAL: &str = "kev_sink_sent_total";
pub const SINK_ERRORS_TOTAL: &str = "kev_sink_errors_total";
pub const SINK_RETRIES_TOTAL: &str = "kev_sink_retries_total";
pub const SINK_DEAD_LETTER_TOTAL: &str = "kev_sink_dead_letter_total";
/// Dead letters the store holds, by `route` (until retried or dropped).
pub const DEAD_LETTERS: &str = "kev_dead_letters";
pub const SINK_LATENCY_SECONDS: &str = "kev_sink_latency_seconds";
pub const PIPELINE_BATCH_SECONDS: &str = "kev_pipeline_batch_seconds";
pub const MESSAGES_REDACTED_TOTAL: &str = "kev_messages_redacted_total";
pub const MESSAGES_TRUNCATED_TOTAL: &str = "kev_messages_truncated_total";
pub const SOURCE_ERRORS_TOTAL: &str = "kev_source_errors_total";

pub const STORE_EVENTS: &str = "kev_store_events";
pub const STORE_BYTES: &str = "kev_store_bytes";
pub const STORE_APPEND_SECONDS: &str = "kev_store_append_seconds";
pub const STORE_COMPACTED_TOTAL: &str = "kev_store_compacted_total";
/// The store's hard caps (`store.retention.hard_max_events` / `hard_max_bytes`), set
/// when configured: past them undelivered events are evicted.
pub const STORE_CAP_EVENTS: &str = "kev_store_cap_events";
pub const STORE_CAP_BYTES: &str = "kev_store_cap_bytes";
pub const STORE_EVICTED_UNDELIVERED_TOTAL: &str = "kev_store_evicted_undelivered_total";

pub const WATCH_CONNECTED: &str = "kev_watch_connected";
pub const WATCH_RESTARTS_TOTAL: &str = "kev_watch_restarts_total";
pub const WATCH_EVENTS_TOTAL: &str = "kev_watch_events_total";
pub const WATCH_LAG_SECONDS: &str = "kev_watch_lag_seconds";
pub const WATCH_LAST_PROGRESS_AGE_SECONDS: &str = "kev_watch_last_progress_age_seconds";
/// The kube source's reads of involved objects for their owner chains, by `result`
/// (`found`, `gone`: deleted, the names' chain is used; `failed`; `dropped`: the
/// lookup queue was full).
pub const OWNER_LOOKUPS_TOTAL: &str = "kev_owner_lookups_total";

/// Parts of an event's context that could not be gathered, by `part`
/// (`logs`, `related_events`, `spec`).
pub const ENRICH_FAILURES_TOTAL: &str = "kev_enrich_failures_total";
/// Decisions of a route's remediation gate, by `route` and `decision`
/// (`fire`, `below_threshold`, `cooldown`).
pub const REMEDIATION_GATE_TOTAL: &str = "kev_remediation_gate_total";
/// Outcomes of remediation calls, by `sink`, `mode` (`rest`, `mcp`) and `outcome`
/// (`success`, `failed`, `error`).
pub const REMEDIATION_OUTCOMES_TOTAL: &str = "kev_remediation_outcomes_total";
/// Duration of remediation calls that got an answer, by `sink` and `mode`.
pub const REMEDIATION_CALL_SECONDS: &str = "kev_remediation_call_seconds";
/// Events a controller published through kev-sinks' recorder, by `type` and `reason`.
/// `reason` is a label here because a controller's reasons are a small fixed set of
/// UpperCamelCase constants (checked at the call site), not free text.
pub const RECORDER_EVENTS_TOTAL: &str = "kev_recorder_events_total";
/// API requests the recorder made, by `verb` (`create`, `patch`, `discover`).
pub const RECORDER_API_CALLS_TOTAL: &str = "kev_recorder_api_calls_total";
/// Events the recorder did not send, by `why` (`disabled`, `invalid`, `quiet`, `spam`,
/// `queue_full`, `closed`, `rejected`, `throttled`, `retries_exhausted`).
pub const RECORDER_DROPPED_TOTAL: &str = "kev_recorder_dropped_total";
/// Reasons that were not UpperCamelCase (a panic in debug builds, counted in release).
pub const RECORDER_BAD_REASONS_TOTAL: &str = "kev_recorder_bad_reasons_total";
/// Publish rounds a NATS sink repeated (same message ids) after missing acks.
pub const NATS_PUBLISH_RETRIES_TOTAL: &str = "kev_nats_publish_retries_total";
/// Messages the NATS source acked after their batch was committed to the store.
pub const NATS_ACKED_TOTAL: &str = "kev_nats_acked_total";
/// 1 while this process holds the leader Lease, 0 while it is a standby (only with
/// `leader_election.enabled`).
pub const LEADER: &str = "kev_leader";
/// 1 while `/readyz` answers ready, 0 while not; measured at each scrape of `/metrics`.
pub const READY: &str = "kev_ready";
/// Leader Lease transitions seen by this process, by `event` (`acquired`, `lost`,
/// `released`).
pub const LEADER_TRANSITIONS_TOTAL: &str = "kev_leader_transitions_total";
/// Objects currently in a failure condition seen through events, by `namespace`,
/// `kind` and `reason` (the condition); rendered by `kev_core::condition`.
pub const OBJECTS_IN_CONDITION: &str = "kev_objects_in_condition";
/// Seconds the oldest object of each `kev_objects_in_condition` series has been in it.
pub const CONDITION_SECONDS: &str = "kev_condition_seconds";
/// Failure events of objects the condition tracker had no room for (`max_objects`).
pub const CONDITIONS_UNTRACKED_TOTAL: &str = "kev_conditions_untracked_total";
