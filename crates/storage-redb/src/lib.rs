//! kev-storage-redb: [`RedbStore`], kev's default [`kev_core::Store`], on one redb file.
//!
//! Events are kept in kev's compact binary record (`kev_core::store::codec`) with
//! secondary indexes for namespace + time, involved object + time and time alone; the
//! key layout and its invariants are in README.md.

mod chunk;
mod error;
mod store;
mod tables;

pub use store::{FILE_NAME, RedbOptions, RedbStore};
pub use tables::FORMAT_VERSION;
