//! The redb tables of a kev store and the keys of its `meta` table.

use redb::TableDefinition;

/// `meta`: format version and counters (see README.md, "Key layout").
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// `log`: first seq of a chunk → the chunk of consecutive events (`crate::chunk`).
pub const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// `dedup`: `kev_core::store::index::dedup_key` → seq.
pub const DEDUP: TableDefinition<&[u8], u64> = TableDefinition::new("dedup");
/// `remembered`: seq of a removed event → `kev_core::store::remembered::encode` (its
/// removal time and dedup key, which stays in `dedup` until forgotten). Files written
/// before it lack the table; the first write creates it.
pub const REMEMBERED: TableDefinition<u64, &[u8]> = TableDefinition::new("remembered");
/// Secondary indexes, keys from `kev_core::store::index`; the namespace and object
/// indexes are segmented (`kev_core::store::segments`).
pub const BY_TIME: TableDefinition<&[u8], ()> = TableDefinition::new("idx_time");
pub const BY_NAMESPACE: TableDefinition<&[u8], ()> = TableDefinition::new("idx_namespace");
pub const BY_OBJECT: TableDefinition<&[u8], ()> = TableDefinition::new("idx_object");
/// `idx_segments`: index segment → its time bounds (`SegmentBounds::to_bytes`).
pub const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("idx_segments");
/// `checkpoints`: source id → position.
pub const CHECKPOINTS: TableDefinition<&str, &str> = TableDefinition::new("checkpoints");
/// `cursors`: route → last handled seq.
pub const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("cursors");
/// `dead_letters`: insertion number → JSON of the `DeadLetter`.
pub const DEAD_LETTERS: TableDefinition<u64, &[u8]> = TableDefinition::new("dead_letters");
/// `state`: (namespace, key) → bytes.
pub const STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("state");

/// The on-disk format this crate writes and reads, stored as ASCII decimal. 4: event
/// records carry owner chains.
pub const FORMAT_VERSION: u32 = 4;

/// The format before owner chains: same tables, records without chains, which the codec
/// still reads. A read-write open upgrades it in place by writing the new version.
pub const FORMAT_VERSION_UPGRADABLE: u32 = 3;

pub const KEY_FORMAT_VERSION: &str = "format_version";
pub const KEY_LAST_SEQ: &str = "last_seq";
/// The oldest stored seq (compaction removes the events of a chunk before the chunk).
pub const KEY_FIRST_SEQ: &str = "first_seq";
pub const KEY_EVENTS: &str = "events";
pub const KEY_BYTES: &str = "bytes";
/// Rows in `remembered`.
pub const KEY_REMEMBERED: &str = "remembered";
pub const KEY_LAST_DEAD_LETTER: &str = "last_dead_letter";
/// Seqs per index segment, chosen when the store is created.
pub const KEY_SEGMENT_EVENTS: &str = "segment_events";
