//! The recorder's API calls over `kube::Client`: discovery of events.k8s.io/v1, and
//! create / strategic-merge patch of Events in either group, each with a timeout and
//! its failure classified.

use std::time::Duration;

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::Value;

/// Which Events API the recorder writes to, found once through discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiGroup {
    /// `events.k8s.io/v1`: series aggregation as client-go's `tools/events`.
    Events,
    /// `v1` (core): counts and aggregation as client-go's `tools/record`.
    Core,
}

/// A failed call, classified the way client-go's `recordEvent` decides what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// No answer: connection refused or reset, timeout, unreadable reply. Retried.
    Transport(String),
    /// The API server answered with an error Status.
    Status {
        code: u16,
        reason: String,
        message: String,
    },
}

impl CallError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { code: 404, .. })
    }

    pub(crate) fn is_already_exists(&self) -> bool {
        matches!(self, Self::Status { code: 409, reason, .. } if reason == "AlreadyExists")
    }

    pub(crate) fn is_too_many_requests(&self) -> bool {
        matches!(self, Self::Status { code: 429, .. })
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "no answer from the API server: {e}"),
            Self::Status {
                code,
                reason,
                message,
                ..
            } => write!(f, "API server answered {code} {reason}: {message}"),
        }
    }
}

fn classify(e: kube::Error) -> CallError {
    match e {
        kube::Error::Api(status) => CallError::Status {
            code: status.code,
            reason: status.reason,
            message: status.message,
        },
        other => CallError::Transport(other.to_string()),
    }
}

/// The client and the per-request timeout.
#[derive(Clone)]
pub(crate) struct EventsApi {
    client: Client,
    timeout: Duration,
}

impl std::fmt::Debug for EventsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsApi")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EventsApi {
    pub(crate) fn new(client: Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r.map_err(classify),
            Err(_) => Err(CallError::Transport(format!(
                "no answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// events.k8s.io/v1 when the server lists `events` in that group version; core/v1
    /// when the group version is not served (404). Anything else is an error to retry.
    pub(crate) async fn discover(&self) -> Result<ApiGroup, CallError> {
        match self
            .timed(self.client.list_api_group_resources("events.k8s.io/v1"))
            .await
        {
            Ok(list) if list.resources.iter().any(|r| r.name == "events") => Ok(ApiGroup::Events),
            Ok(_) => Ok(ApiGroup::Core),
            Err(e) if e.is_not_found() => Ok(ApiGroup::Core),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn create_events(&self, event: &EventsEvent) -> Result<(), CallError> {
        let ns = event.metadata.namespace.as_deref().unwrap_or("default");
        let api: Api<EventsEvent> = Api::namespaced(self.client.clone(), ns);
        self.timed(api.create(&PostParams::default(), event))
            .await
            .map(drop)
    }

    pub(crate) async fn patch_events(
        &self,
        ns: &str,
        name: &str,
        patch: &Value,
    ) -> Result<(), CallError> {
        let api: Api<EventsEvent> = Api::namespaced(self.client.clone(), ns);
        self.timed(api.patch(name, &PatchParams::default(), &Patch::Strategic(patch)))
            .await
            .map(drop)
    }

    pub(crate) async fn create_core(&self, event: &CoreEvent) -> Result<(), CallError> {
        let ns = event.metadata.namespace.as_deref().unwrap_or("default");
        let api: Api<CoreEvent> = Api::namespaced(self.client.clone(), ns);
        self.timed(api.create(&PostParams::default(), event))
            .await
            .map(drop)
    }

    pub(crate) async fn patch_core(
        &self,
        ns: &str,
        name: &str,
        patch: &Value,
    ) -> Result<(), CallError> {
        let api: Api<CoreEvent> = Api::namespaced(self.client.clone(), ns);
        self.timed(api.patch(name, &PatchParams::default(), &Patch::Strategic(patch)))
            .await
            .map(drop)
    }
}
