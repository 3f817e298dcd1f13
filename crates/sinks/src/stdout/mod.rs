//! The stdout sink ([`StdoutSink`]): events on standard output, as JSON lines or one
//! line of text each, flushed per batch.

mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

pub use config::{StdoutFormat, StdoutSinkConfig};
pub use encoder::{encode_batch, text_line};
pub use sink::StdoutSink;
