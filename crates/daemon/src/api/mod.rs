//! The local read API of a running `kev run`, for `kev query`/`tail`/`stats` while the
//! daemon holds the store: the [`server`], the [`client`] that reads the history
//! directly or through it, and what they exchange ([`wire`], [`params`]). Its only
//! writes are those of `kev dead-letter` ([`dead_letters`]).

pub mod client;
pub mod dead_letters;
pub mod params;
pub mod server;
pub mod wire;

pub use client::Access;
pub use params::QueryParams;
