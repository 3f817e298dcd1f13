//! kev-storage-sled: [`SledStore`], a [`kev_core::Store`] on sled 0.34.
//!
//! The same records and index keys as kev-storage-redb (`kev_core::store::codec` and
//! `kev_core::store::index`), one sled tree per table; a batch and its checkpoint are
//! written by one multi-tree transaction. The key layout is in README.md.
//!
//! ```
//! use kev_core::Store;
//! use kev_storage_sled::{SledOptions, SledStore};
//! let dir = tempfile::tempdir()?;
//! let store = SledStore::open(dir.path(), SledOptions::default())?;
//! let event = kev_core::Event { uid: "u1".into(), resource_version: "1".into(), ..Default::default() };
//! assert_eq!(store.append(&[event], None)?.stored, 1);
//! assert_eq!(store.read_log(1, 10)?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod store;
mod trees;

pub use store::{DIR_NAME, SledOptions, SledStore};
pub use trees::FORMAT_VERSION;
