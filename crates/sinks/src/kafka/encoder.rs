//! Records: the key (the involved object's uid), the value (kev's JSON, KEE's, or a
//! template), the `kev-key` header, and the partition Kafka's default partitioner picks.

use std::collections::BTreeMap;

use kev_core::enrich::EventContext;
use kev_core::{Event, SinkError};
use rskafka::chrono::{DateTime, Utc};
use rskafka::record::Record;

use crate::kee::{EventFormat, KeeEvent};
use crate::template::Template;

/// The header carrying the event's idempotency key (`uid/resourceVersion`), for
/// consumers that drop the repeats at-least-once delivery can make.
pub(super) const KEY_HEADER: &str = "kev-key";

/// What a record's value is.
#[derive(Debug)]
pub(super) enum Value {
    Json(EventFormat),
    Template(Template),
}

/// The record key: the involved object's uid, so that all events of one object land
/// in one partition in order; `kind/namespace/name` for an object without uid.
pub(super) fn key(event: &Event) -> Vec<u8> {
    let object = &event.regarding;
    if object.uid.is_empty() {
        format!("{}/{}/{}", object.kind, object.namespace, object.name).into_bytes()
    } else {
        object.uid.clone().into_bytes()
    }
}

/// One event as a record.
pub(super) fn record(
    event: &Event,
    context: Option<&EventContext>,
    value: &Value,
) -> Result<Record, SinkError> {
    let json = |format: &EventFormat| match format {
        EventFormat::Kev => serde_json::to_vec(event),
        EventFormat::Kee => serde_json::to_vec(&KeeEvent::new(event, context)),
    };
    let bytes = match value {
        Value::Template(t) => t.render(event, context)?.into_bytes(),
        Value::Json(format) => json(format)
            .map_err(|e| SinkError::permanent(format!("cannot encode event as JSON: {e}")))?,
    };
    let millis = event
        .time()
        .unwrap_or_else(jiff::Timestamp::now)
        .as_millisecond();
    let timestamp = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
    Ok(Record {
        key: Some(key(event)),
        value: Some(bytes),
        headers: BTreeMap::from([(
            KEY_HEADER.to_owned(),
            event.idempotency_key().as_str().as_bytes().to_vec(),
        )]),
        timestamp,
    })
}

/// The partition of `key` among `partitions`, as Kafka's Java producer (and librdkafka's
/// `murmur2_random`) picks it, so kev's records sit with those of other producers keyed
/// the same way.
///
/// ```
/// assert_eq!(kev_sinks::kafka::partition_for(b"21", 6), (-973932308i32 & 0x7fffffff) as u32 % 6);
/// ```
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) as u32 % partitions.max(1)
}

/// Kafka's `Utils.murmur2` (seed `0x9747b28c`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}
