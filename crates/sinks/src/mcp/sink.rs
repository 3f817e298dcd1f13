//! [`McpSink`]: one remediation call per event, its outcome recorded and counted.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use kev_core::config::ConfigError;
use kev_core::enrich::EventContext;
use kev_core::metrics as m;
use kev_core::store::AsyncStore;
use kev_core::{Batch, Sink, SinkError, Store, StoredEvent};

use super::config::{McpSinkConfig, Protocol};
use super::outcome::{Answer, EventLink, OutcomeStatus, RemediationRecord, save};
use super::payload::{PayloadOptions, arguments};
use super::protocol::McpClient;
use super::rest::RestClient;
use crate::http::Auth;

#[derive(Debug)]
enum Client {
    Rest(RestClient),
    Mcp(McpClient),
}

/// Sends each event of a batch to the remediation service, in order, one call at a
/// time, and records each answer in the store under the event's idempotency key
/// ([`super::OUTCOME_NAMESPACE`]).
///
/// A call that gets no answer (connect error, timeout, 408/429/5xx, a broken MCP
/// session) is retryable: the route retries it with backoff, and reports the events
/// acknowledged before it so they are not sent again. A refusal (other 4xx, JSON-RPC
/// invalid request/params) is recorded as `rejected` and dead-lettered. An answer that
/// says the remediation failed is recorded as `failed` and acknowledged.
///
/// Each route has its own sink and task, and the sink holds no lock across a call, so
/// a remediation that takes minutes holds up only its own route.
///
/// ```
/// use std::sync::Arc;
/// let config = kev_sinks::mcp::McpSinkConfig::new("http://127.0.0.1:9/api/v1/tools/remediate");
/// let sink = config.build("crashloops", Arc::new(kev_core::MemoryStore::new())).unwrap();
/// assert_eq!(kev_core::Sink::name(&sink), "mcp");
/// ```
#[derive(Debug)]
pub struct McpSink {
    name: String,
    route: String,
    protocol: Protocol,
    client: Client,
    auth: Auth,
    options: PayloadOptions,
    store: AsyncStore,
}

impl McpSink {
    pub(super) fn new(
        config: &McpSinkConfig,
        route: &str,
        store: Arc<dyn Store>,
    ) -> Result<Self, ConfigError> {
        let auth = Auth::bearer(
            config.bearer_token.as_ref(),
            config.token_file.as_deref(),
            config.token_env.as_deref(),
        )?;
        let client = match config.protocol {
            Protocol::Rest => Client::Rest(RestClient::new(
                config.parsed_endpoint()?,
                config.timeout,
                config.connect_timeout,
            )?),
            Protocol::Mcp => Client::Mcp(McpClient::new(
                &config.endpoint,
                &config.tool,
                config.timeout,
                config.connect_timeout,
            )?),
        };
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "mcp".to_owned()),
            route: route.to_owned(),
            protocol: config.protocol,
            client,
            auth,
            options: PayloadOptions {
                mode: config.mode,
                confidence_threshold: config.confidence_threshold,
                max_risk_level: config.max_risk_level,
                context_policy: config
                    .include_context
                    .then(|| config.policy.clone().unwrap_or_else(|| route.to_owned())),
            },
            store: AsyncStore::new(store),
        })
    }

    /// One event: call, record, count.
    async fn remediate(
        &self,
        stored: &StoredEvent,
        context: Option<&EventContext>,
    ) -> Result<(), SinkError> {
        let auth = self.auth.load()?;
        let args = arguments(&stored.event, context, &self.options);
        let key = stored.event.idempotency_key().to_string();
        let started = Instant::now();
        let answer = match &self.client {
            Client::Rest(c) => c.call(&args, &key, &auth).await?,
            Client::Mcp(c) => c.call(args, &key, auth.bearer()).await?,
        };
        let elapsed = started.elapsed();
        let protocol = self.protocol.as_str();
        metrics::histogram!(m::REMEDIATION_CALL_SECONDS, "sink" => self.name.clone(), "mode" => protocol)
            .record(elapsed.as_secs_f64());
        let status = answer.status;
        let error = answer.error.clone();
        let record = self.record(stored, answer, elapsed.as_millis());
        save(&self.store, key, &record).await?;
        metrics::counter!(m::REMEDIATION_OUTCOMES_TOTAL, "sink" => self.name.clone(), "mode" => protocol, "outcome" => status.as_str())
            .increment(1);
        match status {
            OutcomeStatus::Success => {
                tracing::info!(route = %self.route, sink = %self.name, seq = stored.seq, request_id = ?record.request_id, "remediation done");
                Ok(())
            }
            OutcomeStatus::Failed => {
                tracing::warn!(route = %self.route, sink = %self.name, seq = stored.seq, error = ?error, "remediation reported failure");
                Ok(())
            }
            OutcomeStatus::Rejected => Err(SinkError::permanent(format!(
                "remediation request rejected: {}",
                error.unwrap_or_default()
            ))),
        }
    }

    fn record(&self, stored: &StoredEvent, answer: Answer, millis: u128) -> RemediationRecord {
        RemediationRecord {
            route: self.route.clone(),
            sink: self.name.clone(),
            protocol: self.protocol.as_str().to_owned(),
            seq: stored.seq,
            event: EventLink::of(stored),
            status: answer.status,
            summary: answer.summary,
            request_id: answer.request_id,
            tool: answer.tool,
            execution_time: answer.execution_time,
            error: answer.error,
            at: jiff::Timestamp::now(),
            duration_ms: u64::try_from(millis).unwrap_or(u64::MAX),
        }
    }
}

#[async_trait]
impl Sink for McpSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        for (done, (stored, context)) in batch.iter().enumerate() {
            self.remediate(stored, context)
                .await
                .map_err(|e| e.with_delivered(done))?;
        }
        Ok(())
    }
}
