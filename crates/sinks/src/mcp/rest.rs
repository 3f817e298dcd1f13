//! REST gateway mode: `POST {endpoint}` with the arguments as the body, as the dot-ai
//! remediation API takes them, and its answer read into an [`Answer`].

use std::time::Duration;

use kev_core::SinkError;
use kev_core::config::ConfigError;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::outcome::{Answer, OutcomeStatus, first_text};
use crate::http::{
    ClientOptions, LoadedAuth, TlsConfig, classify_status, classify_transport, one_line,
    retry_after, send,
};

/// The largest answer read; remediation summaries are small.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The REST gateway's answer: `{success, data{result, tool, executionTime},
/// error{code, message, details}, meta{requestId, …}}`.
#[derive(Debug, Deserialize)]
struct RestAnswer {
    success: bool,
    #[serde(default)]
    data: Option<RestData>,
    #[serde(default)]
    error: Option<RestError>,
    #[serde(default)]
    meta: Option<RestMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestData {
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    execution_time: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RestError {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestMeta {
    #[serde(default)]
    request_id: Option<String>,
}

/// Posts remediation requests to one endpoint.
#[derive(Debug, Clone)]
pub(super) struct RestClient {
    client: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
}

impl RestClient {
    pub fn new(
        url: reqwest::Url,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let client = ClientOptions {
            timeout: Some(timeout),
            connect_timeout,
            tls: &TlsConfig::default(),
        }
        .build()?;
        Ok(Self {
            client,
            url,
            timeout,
        })
    }

    /// One call. `Err` is a failure without an answer to record (retryable, or a
    /// request that could not be built); a refusal is a [`OutcomeStatus::Rejected`]
    /// answer, which the sink records and dead-letters.
    pub async fn call(
        &self,
        args: &Map<String, Value>,
        idempotency_key: &str,
        auth: &LoadedAuth,
    ) -> Result<Answer, SinkError> {
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(
                ACCEPT,
                HeaderValue::from_static("application/json, text/event-stream"),
            )
            .json(args);
        let key = HeaderValue::from_str(idempotency_key).ok();
        let mut response = send(request, auth, key, self.timeout).await?;
        let status = response.status();
        let event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let retry_after = retry_after(response.headers());
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // The answer broke off: for a 2xx the service may have acted, but
                // without its answer kev cannot tell; asking again is the safer side.
                Err(e) => return Err(classify_transport(e, self.timeout)),
            }
        }
        let text = String::from_utf8_lossy(&body);
        let json = if event_stream {
            last_sse_data(&text)
        } else {
            Some(text.to_string())
        };
        let parsed = json.and_then(|j| serde_json::from_str::<RestAnswer>(&j).ok());
        if status.is_success() {
            return Ok(match parsed {
                Some(answer) => read_answer(answer),
                None => Answer {
                    status: OutcomeStatus::Failed,
                    summary: None,
                    request_id: None,
                    tool: None,
                    execution_time: None,
                    error: Some(format!(
                        "HTTP {status}: the answer is not the remediation API's JSON: {}",
                        one_line(&text)
                    )),
                },
            });
        }
        let error = classify_status(status, retry_after.as_deref(), &one_line(&text));
        if error.retryable {
            return Err(error);
        }
        let mut answer = parsed.map_or_else(
            || Answer {
                status: OutcomeStatus::Rejected,
                summary: None,
                request_id: None,
                tool: None,
                execution_time: None,
                error: None,
            },
            read_answer,
        );
        answer.status = OutcomeStatus::Rejected;
        if answer.error.is_none() {
            answer.error = Some(error.message);
        }
        Ok(answer)
    }
}

/// Reads a remediation-API-shaped JSON value (`{success, data, error, meta}`).
pub(super) fn read_answer_value(value: &Value) -> Option<Answer> {
    value.get("success")?.as_bool()?;
    serde_json::from_value::<RestAnswer>(value.clone())
        .ok()
        .map(read_answer)
}

fn read_answer(answer: RestAnswer) -> Answer {
    let data = answer.data.unwrap_or(RestData {
        result: None,
        tool: None,
        execution_time: None,
    });
    let summary = data.result.as_ref().and_then(|r| match r {
        Value::String(s) => Some(s.clone()),
        other => first_text(other, &["summary", "message", "output"]),
    });
    let error = answer.error.map(|e| {
        let code = match e.code {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => "ERROR".to_owned(),
        };
        let mut text = format!("{code}: {}", e.message.unwrap_or_default());
        if let Some(details) = e.details {
            text.push_str(&format!(" ({details})"));
        }
        text
    });
    Answer {
        status: if answer.success {
            OutcomeStatus::Success
        } else {
            OutcomeStatus::Failed
        },
        summary,
        request_id: answer.meta.and_then(|m| m.request_id),
        tool: data.tool,
        execution_time: data.execution_time,
        error,
    }
}

/// The data of the last event of a `text/event-stream` body.
fn last_sse_data(text: &str) -> Option<String> {
    let mut last = None;
    let mut current: Option<String> = None;
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if let Some(data) = current.take() {
                last = Some(data);
            }
        } else if let Some(data) = line.strip_prefix("data:") {
            let data = data.strip_prefix(' ').unwrap_or(data);
            match &mut current {
                Some(c) => {
                    c.push('\n');
                    c.push_str(data);
                }
                None => current = Some(data.to_owned()),
            }
        }
    }
    last
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn sse_last_event_wins() {
        let body =
            "event: progress\ndata: {\"a\":1}\n\ndata: {\"success\":true,\ndata: \"x\":2}\n\n";
        assert_eq!(
            last_sse_data(body).as_deref(),
            Some("{\"success\":true,\n\"x\":2}")
        );
        assert_eq!(last_sse_data(": keep-alive\n\n"), None);
    }
}
