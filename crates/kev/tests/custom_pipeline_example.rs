//! Runs `examples/custom_pipeline.rs` as a test: `cargo test` builds examples but does
//! not run them, and the library example is promised to work.
include!("../examples/custom_pipeline.rs");
