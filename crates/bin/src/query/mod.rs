//! The read side: `kev query`, `kev tail`, `kev stats` and the daemon API they fall back to.

pub mod access;
pub mod params;
pub mod summary;

pub use access::Access;
pub use params::QueryParams;
