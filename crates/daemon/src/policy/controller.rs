//! [`run`]: the EventPolicy watch loop — apply, refuse or remove each policy's route,
//! and write the policies' status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kev_core::pipeline::{Route, RouteControl};
use kev_core::{ObjectRef, Store};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::crd::{ConditionStatus, EventPolicy, SecretKeyRef};
use super::status::Tracked;
use super::translate::{route_config, route_name};
use crate::assemble::build_route;
use crate::backends::sinks::{EventRecorder, Recorder, RecorderConfig, Reporter};
use crate::config::ValidatedRoute;
use crate::error::DaemonError;

/// What `run` needs from the daemon.
pub struct PolicySettings {
    pub client: kube::Client,
    /// Watch this namespace only; `None`: all.
    pub namespace: Option<String>,
    pub status_interval: Duration,
    /// How often the Secrets named in `secretRef` are read again.
    pub secret_refresh: Duration,
}

impl std::fmt::Debug for PolicySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySettings")
            .field("namespace", &self.namespace)
            .field("status_interval", &self.status_interval)
            .field("secret_refresh", &self.secret_refresh)
            .finish_non_exhaustive()
    }
}

type Key = (String, String);

/// Why a policy has no route.
struct Refusal {
    reason: &'static str,
    message: String,
    /// The API could not be asked (not: it answered no); a refresh keeps the route.
    transient: bool,
}

impl Refusal {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            reason: "InvalidPolicy",
            message: message.into(),
            transient: false,
        }
    }
}

struct Controller {
    client: kube::Client,
    control: RouteControl,
    store: Arc<dyn Store>,
    recorder: Recorder,
    interval: Duration,
    tracked: HashMap<Key, Tracked>,
}

/// Watches EventPolicies until `shutdown` or until the pipeline behind `control` stops.
pub async fn run(
    settings: PolicySettings,
    control: RouteControl,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let api: Api<EventPolicy> = match &settings.namespace {
        Some(ns) => Api::namespaced(settings.client.clone(), ns),
        None => Api::all(settings.client.clone()),
    };
    let reporter = Reporter::for_this_host("kev.dev/kev").map_err(|e| DaemonError::Start {
        what: "event reporter",
        source: Box::new(e),
    })?;
    let recorder = Recorder::new(settings.client.clone(), reporter, RecorderConfig::default())
        .map_err(|e| DaemonError::Start {
            what: "event recorder for EventPolicy warnings",
            source: Box::new(e),
        })?;
    let mut controller = Controller {
        client: settings.client,
        control,
        store,
        recorder,
        interval: settings.status_interval,
        tracked: HashMap::new(),
    };
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut tick = tokio::time::interval(
        (settings.status_interval / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = tokio::time::interval_at(
        Instant::now() + settings.secret_refresh,
        settings.secret_refresh,
    );
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listed: Option<HashSet<Key>> = None;
    tracing::info!(namespace = ?settings.namespace, "watching EventPolicies");
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                controller.write_statuses(false).await;
                continue;
            }
            _ = refresh.tick() => {
                if controller.refresh_secrets().await.is_err() {
                    break;
                }
                continue;
            }
            event = events.next() => event,
        };
        let result = match event {
            None => break,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "EventPolicy watch failed; retrying");
                continue;
            }
            Some(Ok(Event::Init)) => {
                listed = Some(HashSet::new());
                Ok(())
            }
            Some(Ok(Event::InitApply(policy))) => {
                if let Some(seen) = &mut listed {
                    seen.insert(key(&policy));
                }
                controller.apply(policy).await
            }
            Some(Ok(Event::InitDone)) => {
                // Policies deleted while the watch was down go now.
                let seen = listed.take().unwrap_or_default();
                let gone: Vec<Key> = controller
                    .tracked
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                let mut result = Ok(());
                for k in gone {
                    result = result.and(controller.remove(&k).await);
                }
                result
            }
            Some(Ok(Event::Apply(policy))) => controller.apply(policy).await,
            Some(Ok(Event::Delete(policy))) => controller.remove(&key(&policy)).await,
        };
        if result.is_err() {
            // The pipeline stopped: its routes can no longer change.
            break;
        }
    }
    controller.write_statuses(true).await;
    controller.recorder.flush().await;
    Ok(())
}

fn key(policy: &EventPolicy) -> Key {
    (
        policy.metadata.namespace.clone().unwrap_or_default(),
        policy.metadata.name.clone().unwrap_or_default(),
    )
}

impl Controller {
    /// Brings the route of `policy` in line with its spec, when the spec changed.
    async fn apply(
        &mut self,
        policy: EventPolicy,
    ) -> Result<(), kev_core::pipeline::PipelineStopped> {
        let key = key(&policy);
        let generation = policy.metadata.generation;
        let same_object = self
            .tracked
            .get(&key)
            .is_some_and(|t| t.uid == policy.metadata.uid);
        if same_object
            && generation.is_some()
            && self
                .tracked
                .get(&key)
                .is_some_and(|t| t.generation == generation)
        {
            // A status write (often kev's own) or a metadata change: nothing to rebuild.
            return Ok(());
        }
        if !same_object {
            self.tracked.insert(key.clone(), Tracked::new(&policy));
        }
        let name = route_name(&key.0, &key.1);
        let secret = self.secret_of(&policy).await;
        let fingerprint = secret.as_ref().map(fingerprint);
        let built = self.build(&policy, secret).await;
        let Some(tracked) = self.tracked.get_mut(&key) else {
            return Ok(());
        };
        tracked.generation = generation;
        tracked.secret = fingerprint;
        tracked.policy = Some(policy.clone());
        match built {
            Ok(Some(route)) => {
                self.control
                    .upsert(route.stats_handle(tracked.stats.clone()))
                    .await?;
                let target = &policy.spec.target;
                tracing::info!(policy = %format!("{}/{}", key.0, key.1), ?generation, route = %name, "policy route running");
                tracked.set_ready(
                    ConditionStatus::True,
                    "RouteRunning",
                    format!(
                        "route {name} delivers to {:?} target {}",
                        target.kind, target.endpoint
                    ),
                );
            }
            Ok(None) => {
                self.control.remove(&name).await?;
                tracked.set_ready(
                    ConditionStatus::False,
                    "Disabled",
                    "spec.enabled is false: the route is stopped (its cursor is kept)".into(),
                );
            }
            Err(refusal) => {
                self.control.remove(&name).await?;
                tracing::warn!(policy = %format!("{}/{}", key.0, key.1), reason = refusal.reason, message = %refusal.message, "policy refused");
                self.recorder.warn(
                    &object_ref(&policy),
                    refusal.reason,
                    "Validate",
                    &refusal.message,
                );
                tracked.set_ready(ConditionStatus::False, refusal.reason, refusal.message);
            }
        }
        self.write_status(&key, false).await;
        Ok(())
    }

    /// The route of a valid, enabled policy, with the token `secret` read for it; `None`
    /// when it is disabled.
    async fn build(
        &self,
        policy: &EventPolicy,
        secret: Option<Result<String, Refusal>>,
    ) -> Result<Option<Route>, Refusal> {
        policy
            .validate()
            .map_err(|e| Refusal::invalid(e.to_string()))?;
        if !policy.spec.enabled {
            return Ok(None);
        }
        let token = secret.transpose()?;
        let config =
            route_config(policy, token.as_deref()).map_err(|e| Refusal::invalid(e.to_string()))?;
        ValidatedRoute::compile(config)
            .and_then(|route| build_route(&route, &self.store, Some(&self.client)))
            .map(Some)
            .map_err(|e| Refusal::invalid(format!("spec.target: {e}")))
    }

    /// The token of the Secret `policy` names, or why it cannot be had; `None` when it
    /// names none.
    async fn secret_of(&self, policy: &EventPolicy) -> Option<Result<String, Refusal>> {
        let r = policy.spec.target.secret_ref.as_ref()?;
        let namespace = policy.metadata.namespace.as_deref().unwrap_or_default();
        Some(self.read_secret(namespace, r).await)
    }

    /// Reads the Secrets of the policies again and rebuilds the route of each policy whose
    /// Secret changed (or appeared, or went).
    async fn refresh_secrets(&mut self) -> Result<(), kev_core::pipeline::PipelineStopped> {
        let mut changed = Vec::new();
        for tracked in self.tracked.values() {
            let Some(policy) = &tracked.policy else {
                continue;
            };
            let Some(secret) = self.secret_of(policy).await else {
                continue;
            };
            if secret.as_ref().is_err_and(|r| r.transient) {
                // The API did not answer: keep what runs, ask again next time.
                continue;
            }
            if tracked.secret != Some(fingerprint(&secret)) {
                changed.push(policy.clone());
            }
        }
        for policy in changed {
            let key = key(&policy);
            tracing::info!(policy = %format!("{}/{}", key.0, key.1), "the policy's Secret changed; rebuilding its route");
            if let Some(tracked) = self.tracked.get_mut(&key) {
                // Not the generation the route was made from: `apply` rebuilds it.
                tracked.generation = None;
            }
            self.apply(policy).await?;
        }
        Ok(())
    }

    async fn read_secret(&self, namespace: &str, r: &SecretKeyRef) -> Result<String, Refusal> {
        let missing = |message: String| Refusal {
            reason: "MissingSecret",
            message,
            transient: false,
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = match secrets.get_opt(&r.name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(missing(format!(
                    "spec.target.secretRef.name: Secret {namespace}/{} not found",
                    r.name
                )));
            }
            Err(e) => {
                return Err(Refusal {
                    transient: true,
                    ..missing(format!(
                        "spec.target.secretRef.name: cannot read Secret {namespace}/{}: {e}",
                        r.name
                    ))
                });
            }
        };
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&r.key))
            .map(|v| v.0.clone())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(&r.key))
                    .map(|v| v.clone().into_bytes())
            })
            .ok_or_else(|| {
                missing(format!(
                    "spec.target.secretRef.key: Secret {namespace}/{} has no key {:?}",
                    r.name, r.key
                ))
            })?;
        let text = String::from_utf8(value).map_err(|_| {
            missing(format!(
                "spec.target.secretRef.key: {:?} of Secret {namespace}/{} is not UTF-8 text",
                r.key, r.name
            ))
        })?;
        if text.trim().is_empty() {
            return Err(missing(format!(
                "spec.target.secretRef.key: {:?} of Secret {namespace}/{} is empty",
                r.key, r.name
            )));
        }
        Ok(text)
    }

    /// Stops the route of a deleted policy; its cursor stays in the store.
    async fn remove(&mut self, key: &Key) -> Result<(), kev_core::pipeline::PipelineStopped> {
        self.tracked.remove(key);
        let name = route_name(&key.0, &key.1);
        if self.control.remove(&name).await? {
            tracing::info!(route = %name, "policy deleted; route stopped");
        }
        Ok(())
    }

    /// Writes every status that is due (`all`: every changed one, at shutdown).
    async fn write_statuses(&mut self, all: bool) {
        let keys: Vec<Key> = self.tracked.keys().cloned().collect();
        for key in keys {
            self.write_status(&key, all).await;
        }
    }

    async fn write_status(&mut self, key: &Key, ignore_interval: bool) {
        let now = Instant::now();
        let interval = if ignore_interval {
            Duration::ZERO
        } else {
            self.interval
        };
        let Some(status) = self.tracked.get(key).and_then(|t| t.due(now, interval)) else {
            return;
        };
        let api: Api<EventPolicy> = Api::namespaced(self.client.clone(), &key.0);
        let patch = serde_json::json!({ "status": status });
        let written = match api
            .patch_status(&key.1, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Some(status),
            Err(e) => {
                tracing::warn!(policy = %format!("{}/{}", key.0, key.1), error = %e, "cannot write EventPolicy status");
                None
            }
        };
        if let Some(t) = self.tracked.get_mut(key) {
            t.wrote(written, now);
        }
    }
}

/// What a Secret read gave, as a hash: enough to see a change, without keeping another
/// copy of the token.
fn fingerprint(secret: &Result<String, Refusal>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match secret {
        Ok(token) => (0u8, token).hash(&mut h),
        Err(refusal) => (1u8, &refusal.message).hash(&mut h),
    }
    h.finish()
}

fn object_ref(policy: &EventPolicy) -> ObjectRef {
    ObjectRef {
        api_version: "kev.dev/v1alpha1".into(),
        kind: "EventPolicy".into(),
        namespace: policy.metadata.namespace.clone().unwrap_or_default(),
        name: policy.metadata.name.clone().unwrap_or_default(),
        uid: policy.metadata.uid.clone().unwrap_or_default(),
        field_path: String::new(),
    }
}
