//! The Elasticsearch / OpenSearch sink ([`ElasticsearchSink`]): each batch one bulk
//! request (`POST /_bulk`), each event one document with `_id` = `uid/resourceVersion`
//! (so a retry or a replay never makes a second document), into a date-pattern index or
//! a data stream; every item's result read.

mod config;
mod document;
mod results;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use config::{ElasticsearchSinkConfig, EsBasicAuth, Flavor};
pub use document::dedot;
pub use sink::ElasticsearchSink;
