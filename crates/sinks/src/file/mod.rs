//! The file sink ([`FileSink`]): JSON lines appended to a file, rotated by size, with a
//! limit on kept files, fsynced per batch.

mod config;
mod encoder;
mod rotate;
mod sink;
#[cfg(test)]
mod tests;

pub use config::FileSinkConfig;
pub use rotate::rotated_path;
pub use sink::FileSink;
