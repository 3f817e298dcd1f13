//! The sled trees of a kev store and the keys of its `meta` tree.

/// `meta`: format version and counters (see README.md, "Key layout").
pub const META: &str = "meta";
pub const LOG: &str = "log";
pub const DEDUP: &str = "dedup";
pub const REMEMBERED: &str = "remembered";
pub const BY_TIME: &str = "idx_time";
pub const BY_NAMESPACE: &str = "idx_namespace";
pub const BY_OBJECT: &str = "idx_object";
pub const CHECKPOINTS: &str = "checkpoints";
pub const CURSORS: &str = "cursors";
pub const DEAD_LETTERS: &str = "dead_letters";
pub const STATE: &str = "state";

/// The on-disk format this crate writes and reads, stored as ASCII decimal. 2: event
/// records carry owner chains.
pub const FORMAT_VERSION: u32 = 2;

/// The format before owner chains: same trees, records without chains, which the codec
/// still reads. Opening it upgrades it in place by writing the new version.
pub const FORMAT_VERSION_UPGRADABLE: u32 = 1;

pub const KEY_FORMAT_VERSION: &str = "format_version";
pub const KEY_LAST_SEQ: &str = "last_seq";
pub const KEY_EVENTS: &str = "events";
pub const KEY_BYTES: &str = "bytes";
/// Entries in `remembered` (absent in stores from before it: none).
pub const KEY_REMEMBERED: &str = "remembered";
pub const KEY_LAST_DEAD_LETTER: &str = "last_dead_letter";

/// The open trees.
#[derive(Debug, Clone)]
pub struct Trees {
    pub meta: sled::Tree,
    /// seq (8 bytes BE) → encoded event.
    pub log: sled::Tree,
    /// `kev_core::store::index::dedup_key` → seq.
    pub dedup: sled::Tree,
    /// seq of a removed event (8 bytes BE) → `kev_core::store::remembered::encode`; its
    /// dedup key stays in `dedup` until forgotten.
    pub remembered: sled::Tree,
    pub by_time: sled::Tree,
    pub by_namespace: sled::Tree,
    pub by_object: sled::Tree,
    /// source id → position.
    pub checkpoints: sled::Tree,
    /// route → seq (8 bytes BE).
    pub cursors: sled::Tree,
    /// insertion number (8 bytes BE) → JSON of the `DeadLetter`.
    pub dead_letters: sled::Tree,
    /// `len32(namespace) · namespace · key` → bytes.
    pub state: sled::Tree,
}

impl Trees {
    pub fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            meta: db.open_tree(META)?,
            log: db.open_tree(LOG)?,
            dedup: db.open_tree(DEDUP)?,
            remembered: db.open_tree(REMEMBERED)?,
            by_time: db.open_tree(BY_TIME)?,
            by_namespace: db.open_tree(BY_NAMESPACE)?,
            by_object: db.open_tree(BY_OBJECT)?,
            checkpoints: db.open_tree(CHECKPOINTS)?,
            cursors: db.open_tree(CURSORS)?,
            dead_letters: db.open_tree(DEAD_LETTERS)?,
            state: db.open_tree(STATE)?,
        })
    }
}
