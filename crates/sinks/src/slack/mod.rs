//! The Slack sink ([`SlackSink`]): one Block Kit message per event, through an
//! incoming webhook or the Web API's `chat.postMessage` with a bot token; the message
//! from kev's default layout (reason, object, namespace, message, count, a link to
//! kev's UI) or a template.

mod config;
mod encoder;
mod sink;
#[cfg(test)]
mod tests;

#[doc(no_inline)]
pub use crate::http::TlsConfig;
pub use config::SlackSinkConfig;
pub use encoder::default_message;
pub use sink::{SlackSink, classify_api_error};
