//! The MCP sink ([`McpSink`]): each event a route selects becomes a remediation
//! request, to the dot-ai REST gateway (`protocol: rest`) or to an MCP server's tool
//! over Streamable HTTP (`protocol: mcp`, with the official `rmcp` SDK); the answer is
//! recorded in the store ([`RemediationRecord`]) and counted.

mod config;
mod keyed_http;
mod outcome;
mod payload;
mod protocol;
mod rest;
mod sink;
#[cfg(test)]
mod tests;

pub use config::{McpSinkConfig, Protocol, RemediationMode, RiskLevel};
pub use keyed_http::IDEMPOTENCY_META_KEY;
pub use outcome::{OUTCOME_NAMESPACE, OutcomeStatus, RemediationRecord};
pub use payload::{PayloadOptions, arguments, issue};
pub use sink::McpSink;
