//! Conformance suites every backend runs (feature `testkit`): [`store`] for
//! [`crate::Store`], [`sink`] for [`crate::Sink`].

// Test code: a failing call is a failed check, reported by the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod pipeline;
pub mod sink;
pub mod store;
