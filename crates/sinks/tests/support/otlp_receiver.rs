//! An OTLP/HTTP logs receiver on 127.0.0.1 (axum), built on the official protobuf
//! definitions (`opentelemetry-proto`): it decodes each `ExportLogsServiceRequest`,
//! records it, and answers as a test-set behaviour says — 2xx with an
//! `ExportLogsServiceResponse` (partial success when records are rejected), or an error
//! status with a `google.rpc.Status` body and `Retry-After`, possibly late.

// Test support: a panic here is a failed test, with its message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// One log record with its resource, as received.
#[derive(Debug, Clone)]
pub struct Record {
    pub resource: Resource,
    pub record: LogRecord,
}

impl Record {
    /// A string or int attribute of the record, as text.
    pub fn attr(&self, key: &str) -> Option<String> {
        find(&self.record.attributes, key)
    }

    /// A resource attribute, as text.
    pub fn resource_attr(&self, key: &str) -> Option<String> {
        find(&self.resource.attributes, key)
    }

    pub fn body(&self) -> String {
        match self.record.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            other => panic!("body is not a string: {other:?}"),
        }
    }
}

fn find(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|a| a.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub records: Vec<Record>,
    pub status: u16,
    /// Records of this request the receiver rejected (partial success).
    pub rejected: Vec<usize>,
    /// Answered after a delay the client may not wait for: not counted as accepted.
    pub late: bool,
}

/// What to answer.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
    /// Indexes of records rejected in a 2xx answer (partial success).
    pub reject: Vec<usize>,
}

impl Reply {
    pub fn ok() -> Self {
        Self {
            status: 200,
            ..Default::default()
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Default::default()
        }
    }
}

type Behaviour = Box<dyn FnMut(&Seen) -> Reply + Send>;

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    record: bool,
}

pub struct OtlpReceiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), true).await
    }

    /// A receiver that keeps nothing, for benches.
    pub async fn start_unrecorded() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), false).await
    }

    /// On a given address (a receiver that comes back on the port it had).
    pub async fn start_on(addr: SocketAddr, record: bool) -> Self {
        let shared = Shared {
            seen: Arc::default(),
            behaviour: Arc::new(Mutex::new(Box::new(|_: &Seen| Reply::ok()))),
            record,
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn behave(&self, f: impl FnMut(&Seen) -> Reply + Send + 'static) {
        *self.shared.behaviour.lock().unwrap() = Box::new(f);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Records the receiver accepted (answered 2xx in time, not rejected), in order.
    pub fn accepted(&self) -> Vec<Record> {
        self.seen()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status) && !s.late)
            .flat_map(|s| {
                s.records
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !s.rejected.contains(i))
                    .map(|(_, r)| r)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn handle(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match ExportLogsServiceRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return status_answer(400, &format!("cannot decode the request: {e}")),
    };
    let records = request
        .resource_logs
        .into_iter()
        .flat_map(|rl| {
            let resource = rl.resource.unwrap_or_default();
            rl.scope_logs
                .into_iter()
                .flat_map(|sl| sl.log_records)
                .map(move |record| Record {
                    resource: resource.clone(),
                    record,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut seen = Seen {
        path: uri.path().to_owned(),
        headers,
        records,
        status: 0,
        rejected: Vec::new(),
        late: false,
    };
    let reply = (shared.behaviour.lock().unwrap())(&seen);
    seen.status = reply.status;
    seen.rejected = reply.reject.clone();
    seen.late = reply.delay.is_some();
    if shared.record {
        shared.seen.lock().unwrap().push(seen);
    }
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = if (200..300).contains(&reply.status) {
        let answer = ExportLogsServiceResponse {
            partial_success: (!reply.reject.is_empty()).then(|| ExportLogsPartialSuccess {
                rejected_log_records: reply.reject.len() as i64,
                error_message: "record rejected: reason Reject is refused".into(),
            }),
        };
        (
            StatusCode::from_u16(reply.status).unwrap(),
            [("content-type", "application/x-protobuf")],
            answer.encode_to_vec(),
        )
            .into_response()
    } else {
        status_answer(reply.status, "the receiver is busy")
    };
    if let Some(after) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}

/// `google.rpc.Status`, the body OTLP/HTTP errors carry.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn status_answer(status: u16, message: &str) -> Response {
    let body = Status {
        code: 14,
        message: message.to_owned(),
    }
    .encode_to_vec();
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/x-protobuf")],
        body,
    )
        .into_response()
}
