//! [`Shared`]: the counters and discovery result that the handles read and the writer
//! task updates.

use std::sync::OnceLock;
use std::sync::atomic::AtomicUsize;

use super::api::ApiGroup;
use super::stats::Counters;

/// State shared by the handles and the writer.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    pub(crate) group: OnceLock<ApiGroup>,
    pub(crate) cached: AtomicUsize,
}
