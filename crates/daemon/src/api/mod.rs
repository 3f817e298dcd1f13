//! The local read API of a running `kev run`, for `kev query`/`tail`/`stats` while the
//! daemon holds the store: the [`server`], the [`client`] that reads the history
//! directly or through it, and what they exchange ([`wire`], [`params`]).

pub mod client;
pub mod params;
pub mod server;
pub mod wire;

pub use client::Access;
pub use params::QueryParams;
