//! The sink backends kev is built with, named in this one file: [`SinkConfig`], the
//! `type:`-tagged sink block of a route (kev-sinks' sinks and kev-nats'), validated and
//! built here; and the sink-side items the daemon uses (EventPolicy targets, the NATS
//! source's config, the recorder of EventPolicy events).

#[cfg(feature = "nats")]
pub use kev_nats::NatsSourceConfig;
#[cfg(feature = "kube")]
pub use kev_recorder::{EventRecorder, Recorder, RecorderConfig, Reporter};
#[cfg(feature = "mcp")]
pub use kev_sinks::mcp::{
    McpSinkConfig, Protocol as McpProtocol, RemediationMode, RiskLevel as McpRiskLevel,
};
#[cfg(feature = "webhook")]
pub use kev_sinks::webhook::WebhookSinkConfig;

use std::sync::Arc;

use kev_core::Sink;
use kev_core::config::ConfigError;
use serde::Deserialize;

/// One entry of a route's `sinks:` list; `type` picks the sink.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SinkConfig {
    Stdout(kev_sinks::stdout::StdoutSinkConfig),
    File(kev_sinks::file::FileSinkConfig),
    #[cfg(feature = "webhook")]
    Webhook(Box<kev_sinks::webhook::WebhookSinkConfig>),
    #[cfg(feature = "mcp")]
    Mcp(Box<kev_sinks::mcp::McpSinkConfig>),
    #[cfg(feature = "otlp")]
    Otlp(Box<kev_sinks::otlp::OtlpSinkConfig>),
    #[cfg(feature = "loki")]
    Loki(Box<kev_sinks::loki::LokiSinkConfig>),
    #[cfg(feature = "elasticsearch")]
    Elasticsearch(Box<kev_sinks::elasticsearch::ElasticsearchSinkConfig>),
    #[cfg(feature = "alertmanager")]
    Alertmanager(Box<kev_sinks::alertmanager::AlertmanagerSinkConfig>),
    #[cfg(feature = "slack")]
    Slack(Box<kev_sinks::slack::SlackSinkConfig>),
    #[cfg(feature = "kafka")]
    Kafka(Box<kev_sinks::kafka::KafkaSinkConfig>),
    #[cfg(feature = "nats")]
    Nats(Box<kev_nats::NatsSinkConfig>),
}

impl SinkConfig {
    /// Checks the config without touching files, the environment or the network;
    /// errors name the field (`url`, `tls.ca_file`), relative to this block.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Stdout(c) => c.validate(),
            Self::File(c) => c.validate(),
            #[cfg(feature = "webhook")]
            Self::Webhook(c) => c.validate(),
            #[cfg(feature = "mcp")]
            Self::Mcp(c) => c.validate(),
            #[cfg(feature = "otlp")]
            Self::Otlp(c) => c.validate(),
            #[cfg(feature = "loki")]
            Self::Loki(c) => c.validate(),
            #[cfg(feature = "elasticsearch")]
            Self::Elasticsearch(c) => c.validate(),
            #[cfg(feature = "alertmanager")]
            Self::Alertmanager(c) => c.validate(),
            #[cfg(feature = "slack")]
            Self::Slack(c) => c.validate(),
            #[cfg(feature = "kafka")]
            Self::Kafka(c) => c.validate(),
            #[cfg(feature = "nats")]
            Self::Nats(c) => c.validate(),
        }
    }

    /// Validates, then builds the sink: opens files, reads secrets, loads certificates.
    pub fn build(&self) -> Result<Arc<dyn Sink>, ConfigError> {
        Ok(match self {
            Self::Stdout(c) => Arc::new(c.build()?),
            Self::File(c) => Arc::new(c.build()?),
            #[cfg(feature = "webhook")]
            Self::Webhook(c) => Arc::new(c.build()?),
            #[cfg(feature = "mcp")]
            Self::Mcp(_) => {
                return Err(ConfigError::new(
                    "type",
                    "the mcp sink records outcomes in the store: build it with build_for_route",
                ));
            }
            #[cfg(feature = "otlp")]
            Self::Otlp(c) => Arc::new(c.build()?),
            #[cfg(feature = "loki")]
            Self::Loki(c) => Arc::new(c.build()?),
            #[cfg(feature = "elasticsearch")]
            Self::Elasticsearch(c) => Arc::new(c.build()?),
            #[cfg(feature = "alertmanager")]
            Self::Alertmanager(c) => Arc::new(c.build()?),
            #[cfg(feature = "slack")]
            Self::Slack(c) => Arc::new(c.build()?),
            #[cfg(feature = "kafka")]
            Self::Kafka(c) => Arc::new(c.build()?),
            #[cfg(feature = "nats")]
            Self::Nats(c) => Arc::new(c.build()?),
        })
    }

    /// Like [`build`](Self::build), for a sink of route `route` that may keep records
    /// in `store` (the MCP sink's remediation outcomes).
    pub fn build_for_route(
        &self,
        route: &str,
        store: Arc<dyn kev_core::Store>,
    ) -> Result<Arc<dyn Sink>, ConfigError> {
        let _ = (route, &store);
        match self {
            #[cfg(feature = "mcp")]
            Self::Mcp(c) => Ok(Arc::new(c.build(route, store)?)),
            #[allow(unreachable_patterns)]
            _ => self.build(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "webhook")]
    #[test]
    fn a_route_sinks_list_parses_validates_and_builds() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "- type: stdout\n  format: text\n- type: file\n  path: {}/kev.jsonl\n  max_files: 2\n- type: webhook\n  url: http://127.0.0.1:9/hook\n  batch: true\n  name: team-hook\n",
            dir.path().display()
        );
        let sinks: Vec<SinkConfig> = serde_norway::from_str(&yaml).unwrap();
        let names: Vec<String> = sinks
            .iter()
            .map(|c| c.build().unwrap().name().to_owned())
            .collect();
        assert_eq!(names, ["stdout", "file", "team-hook"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad: Result<SinkConfig, _> = serde_norway::from_str("type: stdout\nfromat: text\n");
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("unknown field `fromat`")
        );
    }

    #[cfg(feature = "nats")]
    #[test]
    fn the_nats_sink_is_a_tagged_variant_of_sink_config() {
        let yaml = "type: nats\nconnection: {servers: [nats://127.0.0.1:4222]}\nname: fleet\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "fleet");
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn the_otlp_sink_is_a_tagged_variant_of_sink_config() {
        let yaml = "type: otlp\nendpoint: http://otel-collector:4318\nname: otel\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "otel");
        let bad: SinkConfig =
            serde_norway::from_str("type: otlp\nendpoint: http://c\nbody_template: '{{ x }}'\n")
                .unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("body_template: unknown name `x`"), "{err}");
    }

    #[cfg(feature = "loki")]
    #[test]
    fn the_loki_sink_is_a_tagged_variant_of_sink_config() {
        let yaml = "type: loki\nurl: http://loki:3100\ntenant: team-a\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "loki");
        let bad: SinkConfig =
            serde_norway::from_str("type: loki\nurl: http://l\nlabels: [kind, kind]\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("labels[1]: kind is listed twice"), "{err}");
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn the_kafka_sink_is_a_tagged_variant_of_sink_config() {
        let yaml = "type: kafka\nbrokers: ['kafka:9092']\ntopic: kube-events\nformat: kee\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "kafka");
        let bad: SinkConfig =
            serde_norway::from_str("type: kafka\nbrokers: [kafka]\ntopic: t\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert_eq!(err, "brokers[0]: \"kafka\" is not host:port");
    }

    #[cfg(feature = "elasticsearch")]
    #[test]
    fn the_elasticsearch_sink_is_a_tagged_variant_of_sink_config() {
        let yaml = "type: elasticsearch\nurl: http://es:9200\nflavor: opensearch\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "elasticsearch");
        let bad: SinkConfig =
            serde_norway::from_str("type: elasticsearch\nurl: http://es\nindex: KEV\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("index: "), "{err}");
    }

    #[cfg(feature = "alertmanager")]
    #[test]
    fn the_alertmanager_sink_is_a_tagged_variant_of_sink_config() {
        let yaml =
            "type: alertmanager\nurl: http://alertmanager:9093\nstatic_labels: {team: sre}\n";
        let config: SinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "alertmanager");
        let bad: SinkConfig =
            serde_norway::from_str("type: alertmanager\nurl: http://am\nlabels: [kind]\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("labels: must contain alertname"), "{err}");
    }

    #[cfg(feature = "slack")]
    #[test]
    fn the_slack_sink_is_a_tagged_variant_of_sink_config() {
        let dir = tempfile::tempdir().unwrap();
        let hook = dir.path().join("hook");
        std::fs::write(&hook, "https://hooks.slack.com/services/T/B/x").unwrap();
        let yaml = format!("type: slack\nwebhook_url_file: {}\n", hook.display());
        let config: SinkConfig = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(config.build().unwrap().name(), "slack");
        let bad: SinkConfig = serde_norway::from_str("type: slack\ntoken_env: T\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("channel: "), "{err}");
    }

    #[cfg(feature = "mcp")]
    #[test]
    fn the_mcp_sink_is_built_only_for_a_route() {
        let via_union: SinkConfig =
            serde_norway::from_str("type: mcp\nendpoint: http://x/mcp\nprotocol: mcp\n").unwrap();
        via_union.validate().unwrap();
        assert!(via_union.build().is_err());
        via_union
            .build_for_route("r", Arc::new(kev_core::MemoryStore::new()))
            .unwrap();
    }

    #[cfg(feature = "webhook")]
    #[test]
    fn errors_name_the_field_within_the_sink_block() {
        let err = serde_norway::from_str::<SinkConfig>("type: pagerduty\nurl: x").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `pagerduty`"),
            "{err}"
        );
        let err = serde_norway::from_str::<SinkConfig>("type: webhook\nurl: x\nbatchh: true")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `batchh`"), "{err}");
        let config: SinkConfig = serde_norway::from_str("type: webhook\nurl: /relative").unwrap();
        let err = config.validate().unwrap_err().within("routes[0].sinks[2]");
        assert_eq!(
            err.to_string(),
            "routes[0].sinks[2].url: relative URL without a base"
        );
    }
}
