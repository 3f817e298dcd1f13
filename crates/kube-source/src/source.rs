//! [`KubeSource`]: the [`EventSource`] over one or more resumable watches.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kev_core::metrics as m;
use kev_core::{Checkpoint, EventSource, RawEvent, SourceError, SourceItem};
use kube::Api;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::{Api as ApiKind, KubeSourceConfig};
use crate::error::KubeSourceError;
use crate::health::SourceHealth;
use crate::owners::OwnerResolver;
use crate::watch_loop::{Item, StreamMsg, WatchLoop, WatchSpec, WatchedEvent};

/// The checkpoint id under which the store keeps this source's position.
pub const SOURCE_ID: &str = "kube";

/// Events at most between two checkpoints attached to emitted events (a checkpoint
/// is also attached whenever the watches have nothing more queued).
const CHECKPOINT_EVERY: usize = 256;

/// Capacity, in batches, of the channel from the watch tasks to [`KubeSource::next`].
const BATCHES_IN_FLIGHT: usize = 4;

/// Watches Kubernetes Events: one resumable list+watch per API group and namespace
/// scope, merged into one stream; its checkpoint holds every watch's resourceVersion.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use kev_kube_source::{KubeSource, KubeSourceConfig};
/// let source = KubeSource::connect(KubeSourceConfig::default()).await?;
/// let ready = source.health(); // for /readyz
/// # Ok(()) }
/// ```
pub struct KubeSource {
    client: kube::Client,
    config: KubeSourceConfig,
    specs: Vec<WatchSpec>,
    locations: Vec<String>,
    keys: Vec<String>,
    positions: Vec<Option<String>>,
    health: SourceHealth,
    rx: Option<mpsc::Receiver<StreamMsg>>,
    /// The batch being handed out: its watch and the items left.
    current: Option<(usize, std::vec::IntoIter<Item>)>,
    tasks: JoinSet<()>,
    unsaved: usize,
    moved: bool,
    /// `None` with `owners: false`.
    owners: Option<OwnerResolver>,
}

impl std::fmt::Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSource")
            .field("watches", &self.keys)
            .field("positions", &self.positions)
            .finish_non_exhaustive()
    }
}

impl KubeSource {
    /// Validates `config` and connects as [`crate::build_client`] says.
    pub async fn connect(config: KubeSourceConfig) -> Result<Self, KubeSourceError> {
        config.validate()?;
        let client = crate::client::build_client(&config).await?;
        Self::with_client(client, config)
    }

    /// Uses a ready client (tests point one at the fake API server).
    pub fn with_client(
        client: kube::Client,
        config: KubeSourceConfig,
    ) -> Result<Self, KubeSourceError> {
        config.validate()?;
        let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
            vec![None]
        } else {
            config.namespaces.iter().cloned().map(Some).collect()
        };
        let mut specs = Vec::new();
        for &api in config.api.apis() {
            for ns in &scopes {
                let key = match ns {
                    None => api.as_str().to_owned(),
                    Some(ns) => format!("{}/{ns}", api.as_str()),
                };
                specs.push(WatchSpec {
                    index: specs.len(),
                    api,
                    namespace: ns.clone(),
                    key,
                });
            }
        }
        let locations = specs
            .iter()
            .map(|s| match &s.namespace {
                None => format!("watch {}", s.api.group_version()),
                Some(ns) => format!("watch {} namespace {ns}", s.api.group_version()),
            })
            .collect();
        let keys: Vec<String> = specs.iter().map(|s| s.key.clone()).collect();
        let health = SourceHealth::new(specs.len(), config.failure_threshold, config.stall_timeout);
        let owners = std::num::NonZeroUsize::new(config.owner_cache)
            .filter(|_| config.owners)
            .map(OwnerResolver::new);
        Ok(Self {
            client,
            positions: vec![None; specs.len()],
            config,
            specs,
            locations,
            keys,
            health,
            rx: None,
            current: None,
            tasks: JoinSet::new(),
            unsaved: 0,
            moved: false,
            owners,
        })
    }

    /// The readiness handle for `/readyz`; clones share state.
    pub fn health(&self) -> SourceHealth {
        self.health.clone()
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            source: SOURCE_ID.to_owned(),
            position: crate::checkpoint::render(&self.keys, &self.positions),
        }
    }

    fn spawn<K>(&mut self, spec: WatchSpec, tx: mpsc::Sender<StreamMsg>)
    where
        K: WatchedEvent + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let api: Api<K> = match &spec.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let rv = self.positions[spec.index].clone();
        self.health.progress(spec.index);
        let task = WatchLoop {
            api,
            spec,
            config: self.config.clone(),
            health: self.health.clone(),
            tx,
        };
        self.tasks.spawn(task.run(rv));
    }
}

#[async_trait]
impl EventSource for KubeSource {
    fn id(&self) -> &str {
        SOURCE_ID
    }

    fn kind(&self) -> &'static str {
        "kube"
    }

    async fn start(&mut self, checkpoint: Option<Checkpoint>) -> Result<(), SourceError> {
        if let Some(cp) = checkpoint {
            match crate::checkpoint::parse(&cp.position) {
                Ok(map) => {
                    for (i, key) in self.keys.iter().enumerate() {
                        self.positions[i] = map.get(key).cloned();
                    }
                }
                // Listing again is always safe: the store drops what it already has.
                Err(e) => {
                    tracing::warn!(position = %cp.position, "ignoring the stored checkpoint ({e}); listing everything again")
                }
            }
        }
        for (key, rv) in self.keys.iter().zip(&self.positions) {
            match rv {
                Some(rv) => {
                    tracing::info!(watch = %key, resource_version = %rv, "resuming from the checkpoint")
                }
                None => tracing::info!(watch = %key, "no checkpoint; starting with a list"),
            }
        }
        // Batches of up to 512 items: a few in flight keep the watches busy while the
        // pipeline works, and bound the memory a slow store can make them fill.
        let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
        for spec in self.specs.clone() {
            match spec.api {
                ApiKind::Core => self.spawn::<CoreEvent>(spec, tx.clone()),
                ApiKind::Events => self.spawn::<EventsEvent>(spec, tx.clone()),
            }
        }
        if let Some(task) = self
            .owners
            .as_mut()
            .and_then(|o| o.task(self.client.clone()))
        {
            self.tasks.spawn(task);
        }
        let health = self.health.clone();
        self.tasks.spawn(async move {
            let gauge = metrics::gauge!(m::WATCH_LAST_PROGRESS_AGE_SECONDS);
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                gauge.set(health.last_progress_age().as_secs_f64());
            }
        });
        self.rx = Some(rx);
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<SourceItem, SourceError>> {
        loop {
            let Some((stream, items)) = self.current.as_mut() else {
                let Some(rx) = self.rx.as_mut() else {
                    return Some(Err(SourceError::Other(
                        "kube source: next() called before start()".into(),
                    )));
                };
                let batch = rx.recv().await?;
                self.current = Some((batch.stream, batch.items.into_iter()));
                continue;
            };
            let stream = *stream;
            let Some(item) = items.next() else {
                self.current = None;
                continue;
            };
            let idle = items.len() == 0 && self.rx.as_ref().is_none_or(mpsc::Receiver::is_empty);
            if let Some(rv) = item.rv {
                self.positions[stream] = Some(rv);
                self.moved = true;
            }
            match item.event {
                Some(mut event) => {
                    if let Some(owners) = &self.owners {
                        owners.attach(&mut event);
                    }
                    self.unsaved += 1;
                    let checkpoint = (self.moved && (idle || self.unsaved >= CHECKPOINT_EVERY))
                        .then(|| {
                            self.unsaved = 0;
                            self.moved = false;
                            self.checkpoint()
                        });
                    return Some(Ok(SourceItem::Event {
                        raw: RawEvent::Kube(event),
                        location: self.locations[stream].clone(),
                        checkpoint,
                    }));
                }
                None if self.moved && idle => {
                    self.unsaved = 0;
                    self.moved = false;
                    return Some(Ok(SourceItem::Progress(self.checkpoint())));
                }
                None => {}
            }
        }
    }
}
