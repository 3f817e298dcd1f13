//! kev-tests: the fake Kubernetes API server ([`fake_api::FakeApiServer`]) and helpers
//! shared by the end-to-end suites in `tests/` and the benches.

pub mod alertmanager;
pub mod api_proxy;
pub mod daemon;
pub mod fake_api;
pub mod harness;
pub mod observed_store;
pub mod pod_api;
pub mod prometheus;
pub mod simple_normalizer;
pub mod tools;

pub use simple_normalizer::SimpleNormalizer;
