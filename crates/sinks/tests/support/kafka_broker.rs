//! A one-node Kafka broker for tests, speaking the documented wire protocol through the
//! `kafka-protocol` crate: ApiVersions, Metadata, SaslHandshake/SaslAuthenticate
//! (PLAIN), and Produce with each record batch decoded (CRC checked by the decoder) and
//! kept per partition. Faults: a Produce answered with an error code, a Produce that
//! writes and then loses its answer (the connection closes), and the broker down.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataResponse, ProduceResponse, RequestHeader,
    RequestKind, ResponseHeader, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const REQUEST_TIMED_OUT: i16 = 7;
pub const MESSAGE_TOO_LARGE: i16 = 10;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const ILLEGAL_SASL_STATE: i16 = 34;

/// One record as the broker stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: i64,
    pub compression: String,
}

impl Stored {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.value.as_deref().unwrap_or_default()).unwrap()
    }
}

/// What the next Produce requests meet.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every partition of the request answered with this error code; nothing written.
    Error(i16),
    /// The records are written, then the connection closes without an answer.
    LoseAnswer,
}

#[derive(Debug, Default)]
struct State {
    topic: String,
    partitions: i32,
    log: Vec<Stored>,
    next_offset: Vec<i64>,
    faults: VecDeque<Fault>,
    /// `(user, password)` when SASL PLAIN is required.
    sasl: Option<(String, String)>,
    down: bool,
    /// False for benches: batches are decoded and counted, not kept.
    keep: bool,
    /// Every Produce answered with this code until cleared.
    failing: Option<i16>,
    /// `acks` of every Produce request.
    acks: Vec<i16>,
    produce_requests: usize,
}

/// The broker; it stops when dropped.
pub struct Broker {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Broker {
    pub async fn start(topic: &str, partitions: i32) -> Self {
        Self::start_with(topic, partitions, None, true).await
    }

    /// A broker that decodes every batch but keeps no record, for benches.
    pub async fn start_unrecorded(topic: &str, partitions: i32) -> Self {
        Self::start_with(topic, partitions, None, false).await
    }

    /// A broker that requires SASL PLAIN with these credentials.
    pub async fn start_sasl(topic: &str, partitions: i32, user: &str, password: &str) -> Self {
        Self::start_with(
            topic,
            partitions,
            Some((user.into(), password.into())),
            true,
        )
        .await
    }

    async fn start_with(
        topic: &str,
        partitions: i32,
        sasl: Option<(String, String)>,
        keep: bool,
    ) -> Self {
        let state = Arc::new(Mutex::new(State {
            topic: topic.to_owned(),
            partitions,
            next_offset: vec![0; partitions as usize],
            sasl,
            keep,
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                if shared.lock().unwrap().down {
                    drop(stream);
                    continue;
                }
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, addr, shared).await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    pub fn records(&self) -> Vec<Stored> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Every Produce answered with `code` (`None`: healthy again).
    pub fn set_failing(&self, code: Option<i16>) {
        self.state.lock().unwrap().failing = code;
    }

    /// Down: connections are closed as they come and at their next request.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub fn acks(&self) -> Vec<i16> {
        self.state.lock().unwrap().acks.clone()
    }

    pub fn produce_requests(&self) -> usize {
        self.state.lock().unwrap().produce_requests
    }
}

/// Answers one connection's requests in order, as a broker does.
async fn serve(
    mut stream: TcpStream,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut authenticated = state.lock().unwrap().sasl.is_none();
    loop {
        let len = stream.read_i32().await?;
        let mut frame = vec![0; len as usize];
        stream.read_exact(&mut frame).await?;
        if state.lock().unwrap().down {
            return Ok(());
        }
        let mut buf = Bytes::from(frame);
        let api_key = ApiKey::try_from(i16::from_be_bytes([buf[0], buf[1]])).unwrap();
        let version = i16::from_be_bytes([buf[2], buf[3]]);
        let header =
            RequestHeader::decode(&mut buf, api_key.request_header_version(version)).unwrap();
        let request = RequestKind::decode(api_key, &mut buf, version).unwrap();
        assert!(
            !buf.has_remaining(),
            "{api_key:?} v{version}: bytes left over"
        );
        if !authenticated
            && !matches!(
                api_key,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            panic!("{api_key:?} before SASL authentication");
        }
        let (response, close_after) = match request {
            RequestKind::ApiVersions(_) => (ResponseKind::ApiVersions(api_versions()), false),
            RequestKind::Metadata(req) => (
                ResponseKind::Metadata(metadata(&state.lock().unwrap(), addr, req.topics)),
                false,
            ),
            RequestKind::SaslHandshake(req) => {
                let mut r = SaslHandshakeResponse::default();
                r.mechanisms = vec![StrBytes::from_static_str("PLAIN")];
                if req.mechanism.as_str() != "PLAIN" {
                    r.error_code = ILLEGAL_SASL_STATE;
                }
                (ResponseKind::SaslHandshake(r), false)
            }
            RequestKind::SaslAuthenticate(req) => {
                let expected = state.lock().unwrap().sasl.clone();
                let mut r = SaslAuthenticateResponse::default();
                // PLAIN (RFC 4616): authzid NUL authcid NUL passwd.
                let parts: Vec<&[u8]> = req.auth_bytes.split(|b| *b == 0).collect();
                let ok = matches!((&expected, parts.as_slice()),
                    (Some((u, p)), [_, user, pass]) if *user == u.as_bytes() && *pass == p.as_bytes());
                if ok {
                    authenticated = true;
                } else {
                    r.error_code = SASL_AUTHENTICATION_FAILED;
                    r.error_message = Some(StrBytes::from_static_str("bad credentials"));
                }
                (ResponseKind::SaslAuthenticate(r), !ok)
            }
            RequestKind::Produce(req) => {
                let (r, lose) = produce(&mut state.lock().unwrap(), req);
                if lose {
                    return Ok(());
                }
                (ResponseKind::Produce(r), false)
            }
            other => panic!("the test broker does not serve {other:?}"),
        };
        let mut out = BytesMut::new();
        out.put_i32(0);
        let mut response_header = ResponseHeader::default();
        response_header.correlation_id = header.correlation_id;
        response_header
            .encode(&mut out, api_key.response_header_version(version))
            .unwrap();
        response.encode(&mut out, version).unwrap();
        let size = (out.len() - 4) as i32;
        out[..4].copy_from_slice(&size.to_be_bytes());
        stream.write_all(&out).await?;
        if close_after {
            return Ok(());
        }
    }
}

fn api_versions() -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.api_keys = [
        ApiKey::Produce,
        ApiKey::Metadata,
        ApiKey::ApiVersions,
        ApiKey::SaslHandshake,
        ApiKey::SaslAuthenticate,
    ]
    .into_iter()
    .map(|key| {
        let range = key.valid_versions();
        let mut v = ApiVersion::default();
        v.api_key = key as i16;
        v.min_version = range.min;
        v.max_version = range.max;
        v
    })
    .collect();
    r
}

fn metadata(
    state: &State,
    addr: SocketAddr,
    topics: Option<Vec<kafka_protocol::messages::metadata_request::MetadataRequestTopic>>,
) -> MetadataResponse {
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(0);
    broker.host = StrBytes::from_string(addr.ip().to_string());
    broker.port = i32::from(addr.port());
    let ours = |name: &str| name == state.topic;
    let wanted: Vec<String> = match topics {
        None => vec![state.topic.clone()],
        Some(t) if t.is_empty() => vec![state.topic.clone()],
        Some(t) => t
            .into_iter()
            .filter_map(|t| t.name.map(|n| n.0.to_string()))
            .collect(),
    };
    let mut r = MetadataResponse::default();
    r.brokers = vec![broker];
    r.controller_id = BrokerId(0);
    r.topics = wanted
        .into_iter()
        .map(|name| {
            let mut t = MetadataResponseTopic::default();
            if ours(&name) {
                t.partitions = (0..state.partitions)
                    .map(|i| {
                        let mut p = MetadataResponsePartition::default();
                        p.partition_index = i;
                        p.leader_id = BrokerId(0);
                        p.replica_nodes = vec![BrokerId(0)];
                        p.isr_nodes = vec![BrokerId(0)];
                        p
                    })
                    .collect();
            } else {
                t.error_code = UNKNOWN_TOPIC_OR_PARTITION;
            }
            t.name = Some(TopicName(StrBytes::from_string(name)));
            t
        })
        .collect();
    r
}

/// Writes the request's records unless a fault says otherwise; `true` when the answer
/// is to be lost.
fn produce(
    state: &mut State,
    req: kafka_protocol::messages::ProduceRequest,
) -> (ProduceResponse, bool) {
    state.produce_requests += 1;
    state.acks.push(req.acks);
    let fault = state.faults.pop_front().or(state.failing.map(Fault::Error));
    let mut response = ProduceResponse::default();
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let mut answer = TopicProduceResponse::default();
        answer.name = topic.name.clone();
        for data in topic.partition_data {
            let mut p = PartitionProduceResponse::default();
            p.index = data.index;
            if name != state.topic || data.index < 0 || data.index >= state.partitions {
                p.error_code = UNKNOWN_TOPIC_OR_PARTITION;
            } else if let Some(Fault::Error(code)) = fault {
                p.error_code = code;
            } else {
                let mut bytes = data.records.unwrap_or_default();
                let sets = RecordBatchDecoder::decode_all(&mut bytes).unwrap();
                let slot = data.index as usize;
                p.base_offset = state.next_offset[slot];
                for set in sets {
                    for record in set.records {
                        let offset = state.next_offset[slot];
                        state.next_offset[slot] += 1;
                        if !state.keep {
                            continue;
                        }
                        state.log.push(Stored {
                            partition: data.index,
                            offset,
                            key: record.key,
                            value: record.value,
                            headers: record
                                .headers
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), v))
                                .collect(),
                            timestamp: record.timestamp,
                            compression: format!("{:?}", set.compression),
                        });
                    }
                }
            }
            answer.partition_responses.push(p);
        }
        response.responses.push(answer);
    }
    (response, matches!(fault, Some(Fault::LoseAnswer)))
}
