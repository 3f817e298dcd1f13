//! kev-storage-sled: [`SledStore`], a [`kev_core::Store`] on sled 0.34.
//!
//! The same records and index keys as kev-storage-redb (`kev_core::store::codec` and
//! `kev_core::store::index`), one sled tree per table; a batch and its checkpoint are
//! written by one multi-tree transaction. The key layout is in README.md.

mod error;
mod store;
mod trees;

pub use store::{DIR_NAME, SledOptions, SledStore};
pub use trees::FORMAT_VERSION;
