//! The resumable list+watch loop of one watch (one API group × one namespace scope),
//! on `Api::list`/`Api::watch`: resume from a resourceVersion, relist on 410,
//! reconnect with backoff, restart when stalled.
//!
//! kube-runtime's `watcher` always starts with a list (its state machine begins
//! `Empty`) and retries a bare HTTP 410 on watch start forever (kube-rs/kube#1042), so
//! it cannot resume from a stored checkpoint; this loop can.

use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::serde::de::DeserializeOwned;
use kev_core::KubeEvent;
use kev_core::metrics as m;
use kev_core::pipeline::Backoff;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::{Api, Resource};
use tokio::sync::mpsc;

use crate::config::{Api as ApiKind, KubeSourceConfig};
use crate::health::SourceHealth;

/// What a watch task sends to the source: the items one read of the connection made
/// ready (one list page, or the watch events of one chunk), so the channel and task
/// wake-ups are paid per batch, not per event.
#[derive(Debug)]
pub(crate) struct StreamMsg {
    pub stream: usize,
    pub items: Vec<Item>,
}

/// One item of a [`StreamMsg`].
#[derive(Debug)]
pub(crate) struct Item {
    /// An event to emit; `None`: only the position moved.
    pub event: Option<Box<KubeEvent>>,
    /// The watch's position after this item; `None`: unchanged (items of a list).
    pub rv: Option<String>,
}

/// Watch events taken from the connection at most per batch.
const BATCH: usize = 512;

/// The k8s-openapi Event types the loop watches.
pub(crate) trait WatchedEvent:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    fn resource_version(&self) -> Option<&str>;
    fn message_len(&self) -> usize;
    /// The time the event last happened, for `kev_watch_lag_seconds`.
    fn time(&self) -> Option<jiff::Timestamp>;
    fn into_kube_event(self) -> KubeEvent;
}

impl WatchedEvent for k8s_openapi::api::core::v1::Event {
    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
    fn message_len(&self) -> usize {
        self.message.as_ref().map_or(0, String::len)
    }
    fn time(&self) -> Option<jiff::Timestamp> {
        self.series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
            .or_else(|| self.last_timestamp.as_ref().map(|t| t.0))
            .or_else(|| self.event_time.as_ref().map(|t| t.0))
            .or_else(|| self.first_timestamp.as_ref().map(|t| t.0))
    }
    fn into_kube_event(self) -> KubeEvent {
        crate::convert::kube_event_from_core(self)
    }
}

impl WatchedEvent for k8s_openapi::api::events::v1::Event {
    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
    fn message_len(&self) -> usize {
        self.note.as_ref().map_or(0, String::len)
    }
    fn time(&self) -> Option<jiff::Timestamp> {
        self.series
            .as_ref()
            .map(|s| s.last_observed_time.0)
            .or_else(|| self.event_time.as_ref().map(|t| t.0))
            .or_else(|| self.deprecated_last_timestamp.as_ref().map(|t| t.0))
    }
    fn into_kube_event(self) -> KubeEvent {
        crate::convert::kube_event_from_events(self)
    }
}

/// One watch: which API, where, and its checkpoint key.
#[derive(Debug, Clone)]
pub(crate) struct WatchSpec {
    pub index: usize,
    pub api: ApiKind,
    pub namespace: Option<String>,
    /// `core`, `events`, `core/web`…
    pub key: String,
}

pub(crate) struct WatchLoop<K: WatchedEvent> {
    pub api: Api<K>,
    pub spec: WatchSpec,
    pub config: KubeSourceConfig,
    pub health: SourceHealth,
    pub tx: mpsc::Sender<StreamMsg>,
}

/// Why a watch ended.
enum Ended {
    /// 410: the position is gone; relist.
    Expired,
    /// The server closed it (timeout) or the watchdog restarted it; resume at once.
    Resume,
    /// A failure; resume after a backoff delay.
    Failed,
    /// The source was dropped.
    Closed,
}

/// Handles to this watch's metrics, resolved once.
struct Meters {
    added: metrics::Counter,
    modified: metrics::Counter,
    deleted: metrics::Counter,
    bookmark: metrics::Counter,
    lag: metrics::Histogram,
    connected: metrics::Gauge,
}

impl Meters {
    fn new(api: ApiKind) -> Self {
        let a = api.as_str();
        Self {
            added: metrics::counter!(m::WATCH_EVENTS_TOTAL, "api" => a, "type" => "ADDED"),
            modified: metrics::counter!(m::WATCH_EVENTS_TOTAL, "api" => a, "type" => "MODIFIED"),
            deleted: metrics::counter!(m::WATCH_EVENTS_TOTAL, "api" => a, "type" => "DELETED"),
            bookmark: metrics::counter!(m::WATCH_EVENTS_TOTAL, "api" => a, "type" => "BOOKMARK"),
            lag: metrics::histogram!(m::WATCH_LAG_SECONDS, "api" => a),
            connected: metrics::gauge!(m::WATCH_CONNECTED, "api" => a),
        }
    }
}

fn restart(reason: &'static str) {
    metrics::counter!(m::WATCH_RESTARTS_TOTAL, "reason" => reason).increment(1);
}

fn skipped(reason: &'static str) {
    metrics::counter!(m::SOURCE_ERRORS_TOTAL, "source" => "kube", "reason" => reason).increment(1);
}

fn is_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 410)
}

impl<K: WatchedEvent> WatchLoop<K> {
    /// Runs until the source is dropped; `rv` is the stored position, if any.
    pub async fn run(self, mut rv: Option<String>) {
        let meters = Meters::new(self.spec.api);
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        loop {
            let ended = match rv.clone() {
                None => match self.list(&meters).await {
                    Ok(Some(list_rv)) => {
                        rv = Some(list_rv);
                        continue;
                    }
                    Ok(None) => Ended::Closed,
                    Err(e) if is_gone(&e) => {
                        tracing::info!(watch = %self.spec.key, "list continue token expired (410); listing again");
                        Ended::Expired
                    }
                    Err(e) => {
                        self.failure(&format!("list failed: {e}"));
                        Ended::Failed
                    }
                },
                Some(from) => self.watch(&from, &mut rv, &meters, &mut backoff).await,
            };
            match ended {
                Ended::Closed => return,
                Ended::Expired => {
                    restart("expired");
                    self.health.count_expired();
                    rv = None;
                }
                Ended::Resume => {}
                Ended::Failed => {
                    let delay = backoff.next_delay();
                    tracing::debug!(watch = %self.spec.key, ?delay, "reconnecting after a delay");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.tx.closed() => return,
                    }
                }
            }
        }
    }

    fn failure(&self, what: &str) {
        let n = self.health.failed(self.spec.index);
        if n >= self.config.failure_threshold {
            tracing::error!(watch = %self.spec.key, failures = n, "{what}; the source is not ready");
        } else {
            tracing::warn!(watch = %self.spec.key, failures = n, "{what}");
        }
    }

    /// Lists every page; emits the items and returns the list's resourceVersion.
    /// `Ok(None)`: the source went away.
    async fn list(&self, meters: &Meters) -> Result<Option<String>, kube::Error> {
        let mut lp = ListParams::default().limit(self.config.page_size);
        lp.field_selector.clone_from(&self.config.field_selector);
        lp.label_selector.clone_from(&self.config.label_selector);
        let mut listed = 0u64;
        loop {
            let page = self.api.list(&lp).await?;
            self.health.progress(self.spec.index);
            listed += page.items.len() as u64;
            let mut items: Vec<Item> = page
                .items
                .into_iter()
                .map(|o| self.item(o, None, meters))
                .collect();
            let next = page.metadata.continue_.filter(|c| !c.is_empty());
            let done_rv = next
                .is_none()
                .then(|| page.metadata.resource_version.unwrap_or_default());
            if let Some(rv) = &done_rv {
                items.push(Item {
                    event: None,
                    rv: Some(rv.clone()),
                });
            }
            if !self.send(items).await {
                return Ok(None);
            }
            match (next, done_rv) {
                (Some(token), _) => lp.continue_token = Some(token),
                (None, rv) => {
                    let rv = rv.unwrap_or_default();
                    tracing::info!(watch = %self.spec.key, items = listed, resource_version = %rv, "listed");
                    self.health.synced(self.spec.index);
                    return Ok(Some(rv));
                }
            }
        }
    }

    /// Sends a batch on; `false` when the source is gone.
    async fn send(&self, items: Vec<Item>) -> bool {
        if items.is_empty() {
            return true;
        }
        self.tx
            .send(StreamMsg {
                stream: self.spec.index,
                items,
            })
            .await
            .is_ok()
    }

    /// The item for one object: the event, or only the position when it is oversized.
    fn item(&self, object: K, rv: Option<String>, meters: &Meters) -> Item {
        if object.message_len() > self.config.max_message_bytes {
            skipped("oversized");
            self.health.count_skipped();
            tracing::warn!(
                watch = %self.spec.key,
                bytes = object.message_len(),
                limit = self.config.max_message_bytes,
                "skipping an Event whose message is larger than max_message_bytes"
            );
            return Item { event: None, rv };
        }
        if let Some(t) = object.time() {
            let lag = jiff::Timestamp::now().duration_since(t).as_secs_f64();
            meters.lag.record(lag.max(0.0));
        }
        self.health.count_events(1);
        Item {
            event: Some(Box::new(object.into_kube_event())),
            rv,
        }
    }

    fn skip_undecodable(&self, error: &str) {
        skipped("decode");
        self.health.count_skipped();
        tracing::warn!(watch = %self.spec.key, error, "skipping a watch event that is not a valid Event");
    }

    async fn watch(
        &self,
        from: &str,
        rv: &mut Option<String>,
        meters: &Meters,
        backoff: &mut Backoff,
    ) -> Ended {
        let secs = u32::try_from(self.config.watch_timeout.as_secs()).unwrap_or(u32::MAX);
        let mut wp = WatchParams::default().timeout(secs);
        wp.bookmarks = true;
        wp.field_selector.clone_from(&self.config.field_selector);
        wp.label_selector.clone_from(&self.config.label_selector);
        let stream = match self.api.watch(&wp, from).await {
            Ok(s) => s,
            // A bare HTTP 410 on watch start: relist, never retry the same position.
            Err(e) if is_gone(&e) => {
                tracing::info!(watch = %self.spec.key, resource_version = from, "watch position expired (HTTP 410); relisting");
                return Ended::Expired;
            }
            Err(e) => {
                self.failure(&format!("watch failed to start: {e}"));
                return Ended::Failed;
            }
        };
        tracing::info!(watch = %self.spec.key, resource_version = from, api = self.spec.api.group_version(), "watch connected");
        self.health.synced(self.spec.index);
        self.health.set_connected(self.spec.index, true);
        meters.connected.increment(1.0);
        let ended = self.consume(stream, rv, meters, backoff).await;
        meters.connected.decrement(1.0);
        self.health.set_connected(self.spec.index, false);
        ended
    }

    async fn consume(
        &self,
        stream: impl futures::Stream<Item = kube::Result<WatchEvent<K>>>,
        rv: &mut Option<String>,
        meters: &Meters,
        backoff: &mut Backoff,
    ) -> Ended {
        let mut stream = std::pin::pin!(stream.ready_chunks(BATCH));
        let mut delivered = false;
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(self.config.stall_timeout, stream.next()) => next,
                () = self.tx.closed() => return Ended::Closed,
            };
            let chunk = match next {
                Err(_) => {
                    tracing::warn!(watch = %self.spec.key, timeout = ?self.config.stall_timeout, "watch stalled: no event nor bookmark; restarting it");
                    restart("stalled");
                    self.health.count_stalled();
                    return Ended::Resume;
                }
                Ok(None) => {
                    tracing::info!(watch = %self.spec.key, "watch disconnected (closed by the server)");
                    return if delivered {
                        Ended::Resume
                    } else {
                        Ended::Failed
                    };
                }
                Ok(Some(chunk)) => chunk,
            };
            let mut items = Vec::with_capacity(chunk.len());
            let mut end = None;
            for item in chunk {
                match self.handle(item, rv, meters, delivered) {
                    Handled::Item(item) => items.push(item),
                    Handled::Skip => {}
                    Handled::End(e) => {
                        end = Some(e);
                        break;
                    }
                }
                if !delivered && !items.is_empty() {
                    delivered = true;
                    backoff.reset();
                }
            }
            if !delivered && end.is_none() {
                // Bookmarks and skipped lines are progress too.
                delivered = true;
                backoff.reset();
            }
            self.health.progress(self.spec.index);
            if !self.send(items).await {
                return Ended::Closed;
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// One watch event: an item to send, nothing, or the end of this watch.
    fn handle(
        &self,
        item: kube::Result<WatchEvent<K>>,
        rv: &mut Option<String>,
        meters: &Meters,
        delivered: bool,
    ) -> Handled {
        let event = match item {
            Ok(e) => e,
            Err(kube::Error::SerdeError(e)) => {
                self.skip_undecodable(&e.to_string());
                return Handled::Skip;
            }
            // kube-client reads a line that is no `WatchEvent<K>` as a `Status` if it
            // can, and every field of `Status` has a default: a Pod, or an Event
            // missing a required field, comes out as a Status with code 0.
            Err(kube::Error::Api(status)) if status.code == 0 => {
                self.skip_undecodable("not a valid Event");
                return Handled::Skip;
            }
            Err(kube::Error::Api(status)) if status.code == 410 => {
                tracing::info!(watch = %self.spec.key, message = %status.message, "watch position expired (410); relisting");
                return Handled::End(Ended::Expired);
            }
            Err(e) => {
                tracing::info!(watch = %self.spec.key, error = %e, "watch disconnected");
                if delivered {
                    return Handled::End(Ended::Resume);
                }
                self.failure(&format!("watch broke: {e}"));
                return Handled::End(Ended::Failed);
            }
        };
        let was_added = matches!(event, WatchEvent::Added(_));
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                if was_added {
                    meters.added.increment(1);
                } else {
                    meters.modified.increment(1);
                }
                let new_rv = o.resource_version().map(str::to_owned);
                if new_rv.is_some() {
                    rv.clone_from(&new_rv);
                }
                Handled::Item(self.item(o, new_rv, meters))
            }
            WatchEvent::Deleted(o) => {
                meters.deleted.increment(1);
                self.health.count_deleted();
                let new_rv = o.resource_version().map(str::to_owned);
                if new_rv.is_some() {
                    rv.clone_from(&new_rv);
                }
                Handled::Item(Item {
                    event: None,
                    rv: new_rv,
                })
            }
            WatchEvent::Bookmark(b) => {
                meters.bookmark.increment(1);
                self.health.count_bookmark();
                *rv = Some(b.metadata.resource_version.clone());
                Handled::Item(Item {
                    event: None,
                    rv: Some(b.metadata.resource_version),
                })
            }
            WatchEvent::Error(status) if status.code == 410 => {
                tracing::info!(watch = %self.spec.key, message = %status.message, "watch position expired (410); relisting");
                Handled::End(Ended::Expired)
            }
            WatchEvent::Error(status) => {
                self.failure(&format!(
                    "watch ERROR event: {} ({} {})",
                    status.message, status.code, status.reason
                ));
                Handled::End(Ended::Failed)
            }
        }
    }
}

/// What [`WatchLoop::handle`] made of one watch event.
enum Handled {
    Item(Item),
    Skip,
    End(Ended),
}
