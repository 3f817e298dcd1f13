//! Encodes a batch as JSON lines and remembers where each event's line ends, so that
//! rotation happens between lines and a failure knows which events are complete.

use kev_core::{Batch, SinkError};

use crate::jsonl::push_json_line;
use crate::kee::{EventFormat, KeeEvent};

/// A batch as JSON lines: `bytes`, and the end offset of each event's line.
pub(super) struct EncodedBatch {
    pub bytes: Vec<u8>,
    pub ends: Vec<usize>,
}

pub(super) fn encode(batch: &Batch<'_>, format: EventFormat) -> Result<EncodedBatch, SinkError> {
    let mut bytes = Vec::with_capacity(batch.len() * 512);
    let mut ends = Vec::with_capacity(batch.len());
    for (stored, context) in batch.iter() {
        match format {
            EventFormat::Kev => push_json_line(&stored.event, &mut bytes)?,
            EventFormat::Kee => push_json_line(&KeeEvent::new(&stored.event, context), &mut bytes)?,
        }
        ends.push(bytes.len());
    }
    Ok(EncodedBatch { bytes, ends })
}
