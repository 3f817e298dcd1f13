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
pub const SINK_LATENCY_SECONDS: &str = "kev_sink_latency_seconds";
pub const PIPELINE_BATCH_SECONDS: &str = "kev_pipeline_batch_seconds";
pub const MESSAGES_REDACTED_TOTAL: &str = "kev_messages_redacted_total";
pub const MESSAGES_TRUNCATED_TOTAL: &str = "kev_messages_truncated_total";
pub const SOURCE_ERRORS_TOTAL: &str = "kev_source_errors_total";

pub const STORE_EVENTS: &str = "kev_store_events";
pub const STORE_BYTES: &str = "kev_store_bytes";
pub const STORE_APPEND_SECONDS: &str = "kev_store_append_seconds";
pub const STORE_COMPACTED_TOTAL: &str = "kev_store_compacted_total";
pub const STORE_EVICTED_UNDELIVERED_TOTAL: &str = "kev_store_evicted_undelivered_total";

pub const WATCH_CONNECTED: &str = "kev_watch_connected";
pub const WATCH_RESTARTS_TOTAL: &str = "kev_watch_restarts_total";
pub const WATCH_EVENTS_TOTAL: &str = "kev_watch_events_total";
pub const WATCH_LAG_SECONDS: &str = "kev_watch_lag_seconds";
pub const WATCH_LAST_PROGRESS_AGE_SECONDS: &str = "kev_watch_last_progress_age_seconds";

/// Publish rounds a NATS sink repeated (same message ids) after missing acks.
pub const NATS_PUBLISH_RETRIES_TOTAL: &str = "kev_nats_publish_retries_total";
/// Messages the NATS source acked after their batch was committed to the store.
pub const NATS_ACKED_TOTAL: &str = "kev_nats_acked_total";
