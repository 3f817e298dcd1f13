//! kev-storage-redb: [`RedbStore`], kev's default [`kev_core::Store`], on one redb file.
//!
//! Events are kept in kev's compact binary record (`kev_core::store::codec`) with
//! secondary indexes for namespace + time, involved object + time and time alone; the
//! key layout and its invariants are in README.md.
//!
//! ```
//! use kev_core::Store;
//! use kev_storage_redb::{RedbOptions, RedbStore};
//! let dir = tempfile::tempdir()?;
//! let store = RedbStore::open(dir.path(), RedbOptions::default())?;
//! let event = kev_core::Event { uid: "u1".into(), resource_version: "1".into(), ..Default::default() };
//! assert_eq!(store.append(&[event], None)?.stored, 1);
//! assert_eq!(store.read_log(1, 10)?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chunk;
mod error;
mod store;
mod tables;

pub use store::{FILE_NAME, RedbOptions, RedbStore};
pub use tables::FORMAT_VERSION;
