//! [`KafkaSink`]: connects on the first batch, produces each partition's records in
//! one request (`acks=all`), and reports the events acknowledged before a failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use kev_core::config::ConfigError;
use kev_core::{Batch, Sink, SinkError};
use rskafka::BackoffConfig;
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig as RsSasl};
use tokio::sync::Mutex;

use super::config::{KafkaCompression, KafkaSinkConfig, SaslMechanism};
use super::encoder::{Value, key, partition_for, record};
use crate::http::SecretSource;

/// Produces events to a Kafka topic.
///
/// `deliver` returns `Ok` once every record of the batch was acknowledged by all in-sync
/// replicas (rskafka always produces with `acks=-1`). rskafka has no idempotent producer
/// (no producer id or sequence numbers), so a retry after a lost acknowledgement can
/// write a record twice; both copies carry the same key and `kev-key` header.
///
/// ```
/// use kev_sinks::kafka::KafkaSinkConfig;
/// let sink = KafkaSinkConfig::new(vec!["127.0.0.1:9".into()], "events").build().unwrap();
/// assert_eq!(kev_core::Sink::name(&sink), "kafka");
/// ```
pub struct KafkaSink {
    name: String,
    topic: String,
    value: Value,
    compression: Compression,
    connect: Connect,
    timeout: Duration,
    connected: Mutex<Option<Arc<Connected>>>,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("name", &self.name)
            .field("topic", &self.topic)
            .field("value", &self.value)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What opening a client needs.
struct Connect {
    brokers: Vec<String>,
    client_id: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    sasl: Option<(SaslMechanism, String, SecretSource)>,
    backoff: BackoffConfig,
}

/// A client and one partition client per partition of the topic, by partition id.
struct Connected {
    _client: Client,
    partitions: Vec<Arc<PartitionClient>>,
}

impl KafkaSink {
    /// Builds the sink from a config that passed [`KafkaSinkConfig::validate`].
    pub(super) fn new(config: &KafkaSinkConfig) -> Result<Self, ConfigError> {
        let tls = match &config.tls {
            Some(tls) => Some(Arc::new(tls.rustls_config().map_err(|e| e.within("tls"))?)),
            None => None,
        };
        let sasl = match &config.sasl {
            Some(sasl) => {
                let password = SecretSource::from_file_or_env(
                    sasl.password_file.as_deref(),
                    sasl.password_env.as_deref(),
                    ["sasl.password_file", "sasl.password_env"],
                )?
                .ok_or_else(|| {
                    ConfigError::new(
                        "sasl.password_file",
                        "set exactly one of password_file and password_env",
                    )
                })?;
                Some((sasl.mechanism, sasl.username.clone(), password))
            }
            None => None,
        };
        let value = match config.compiled_template()? {
            Some(t) => Value::Template(t),
            None => Value::Json(config.format),
        };
        Ok(Self {
            name: config.name.clone().unwrap_or_else(|| "kafka".to_owned()),
            topic: config.topic.clone(),
            value,
            compression: match config.compression {
                KafkaCompression::None => Compression::NoCompression,
                KafkaCompression::Gzip => Compression::Gzip,
                KafkaCompression::Snappy => Compression::Snappy,
            },
            connect: Connect {
                brokers: config.brokers.clone(),
                client_id: config.client_id.clone(),
                tls,
                sasl,
                // The client's own retries (a moved leader, a broken connection) end
                // within the produce timeout; what remains is the route's to retry.
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                    deadline: Some(config.timeout),
                },
            },
            timeout: config.timeout,
            connected: Mutex::new(None),
        })
    }

    /// The connection, opened (and the topic's partitions read) when there is none.
    async fn connected(&self) -> Result<Arc<Connected>, SinkError> {
        let mut slot = self.connected.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(
            tokio::time::timeout(self.timeout, self.connect())
                .await
                .map_err(|_| SinkError::retryable("kafka: connecting timed out"))??,
        );
        *slot = Some(Arc::clone(&c));
        Ok(c)
    }

    async fn connect(&self) -> Result<Connected, SinkError> {
        let c = &self.connect;
        let mut builder = ClientBuilder::new(c.brokers.clone())
            .client_id(c.client_id.clone())
            .backoff_config(c.backoff.clone());
        if let Some(tls) = &c.tls {
            builder = builder.tls_config(Arc::clone(tls));
        }
        if let Some((mechanism, username, password)) = &c.sasl {
            let credentials =
                Credentials::new(username.clone(), password.load()?.expose().to_owned());
            builder = builder.sasl_config(match mechanism {
                SaslMechanism::Plain => RsSasl::Plain(credentials),
                SaslMechanism::ScramSha256 => RsSasl::ScramSha256(credentials),
                SaslMechanism::ScramSha512 => RsSasl::ScramSha512(credentials),
            });
        }
        let client = builder.build().await.map_err(|e| classify(&e))?;
        let topics = client.list_topics().await.map_err(|e| classify(&e))?;
        let Some(topic) = topics.into_iter().find(|t| t.name == self.topic) else {
            return Err(SinkError::retryable(format!(
                "kafka: topic {} does not exist",
                self.topic
            )));
        };
        let mut ids: Vec<i32> = topic.partitions.into_iter().collect();
        ids.sort_unstable();
        if ids.is_empty() || ids.iter().enumerate().any(|(i, id)| *id != i as i32) {
            return Err(SinkError::retryable(format!(
                "kafka: topic {} has partitions {ids:?}, expected 0..n",
                self.topic
            )));
        }
        let mut partitions = Vec::with_capacity(ids.len());
        for id in ids {
            let p = client
                .partition_client(self.topic.clone(), id, UnknownTopicHandling::Retry)
                .await
                .map_err(|e| classify(&e))?;
            partitions.push(Arc::new(p));
        }
        Ok(Connected {
            _client: client,
            partitions,
        })
    }

    /// Drops the connection so the next batch reconnects and reads the metadata again.
    async fn forget(&self) {
        *self.connected.lock().await = None;
    }
}

/// Retryable unless the broker refused the records themselves.
fn classify(error: &KafkaError) -> SinkError {
    let text = format!("kafka: {error}");
    match error {
        KafkaError::ServerError {
            protocol_error:
                ProtocolError::MessageTooLarge
                | ProtocolError::RecordListTooLarge
                | ProtocolError::InvalidRecord
                | ProtocolError::CorruptMessage,
            ..
        } => SinkError::permanent(text),
        _ => SinkError::retryable(text),
    }
}

#[async_trait]
impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let connected = self.connected().await?;
        let n = connected.partitions.len() as u32;
        // Each partition's records in batch order, with their index in the batch.
        let mut by_partition: Vec<(Vec<usize>, Vec<rskafka::record::Record>)> =
            (0..n).map(|_| (Vec::new(), Vec::new())).collect();
        for (i, (stored, context)) in batch.iter().enumerate() {
            let r = record(&stored.event, context, &self.value).map_err(|e| e.with_delivered(0))?;
            let p = partition_for(&key(&stored.event), n) as usize;
            by_partition[p].0.push(i);
            by_partition[p].1.push(r);
        }
        let produces = by_partition
            .into_iter()
            .enumerate()
            .filter(|(_, (indices, _))| !indices.is_empty())
            .map(|(p, (indices, records))| {
                let client = Arc::clone(&connected.partitions[p]);
                let compression = self.compression;
                async move {
                    let produced =
                        tokio::time::timeout(self.timeout, client.produce(records, compression))
                            .await;
                    (indices, produced)
                }
            });
        let mut acked = vec![false; batch.len()];
        let mut first_error = None;
        for (indices, produced) in join_all(produces).await {
            match produced {
                Ok(Ok(_offsets)) => indices.into_iter().for_each(|i| acked[i] = true),
                Ok(Err(e)) => {
                    first_error.get_or_insert_with(|| classify(&e));
                }
                Err(_) => {
                    first_error
                        .get_or_insert_with(|| SinkError::retryable("kafka: produce timed out"));
                }
            }
        }
        let Some(error) = first_error else {
            return Ok(());
        };
        if error.retryable {
            self.forget().await;
        }
        let delivered = acked.iter().take_while(|a| **a).count();
        Err(error.with_delivered(delivered))
    }
}
