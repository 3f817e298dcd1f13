//! The kev-sinks items the daemon uses, named in this one file.

pub use kev_sinks::SinkConfig;
#[cfg(feature = "mcp")]
pub use kev_sinks::mcp::{
    McpSinkConfig, Protocol as McpProtocol, RemediationMode, RiskLevel as McpRiskLevel,
};
#[cfg(feature = "nats")]
pub use kev_sinks::nats::NatsSourceConfig;
#[cfg(feature = "kube")]
pub use kev_sinks::recorder::{EventRecorder, Recorder, RecorderConfig, Reporter};
#[cfg(feature = "webhook")]
pub use kev_sinks::webhook::WebhookSinkConfig;
