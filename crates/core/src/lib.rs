//! kev-core: the Kubernetes event model, the traits of kev's pipeline, and the parts
//! that need no network or database: normalizer, filters, rate limiters, the memory
//! store, the replay source and the pipeline driver.
//!
//! ```text
//! EventSource ─▶ Normalizer ─▶ Filter ─▶ Store::append(batch, checkpoint)
//!                                             │ durable log
//!          route: Filter ─▶ RateLimiter ─▶ [RemediationGate] ─▶ [Enricher] ─▶ Sink
//!                                                          ─ack─▶ Store::commit_cursor
//! ```
//!
//! A pipeline of your own: replayed events, the memory store (or a backend crate's),
//! one route to a [`Sink`] of yours, which gets each batch as a [`Batch`].
//!
//! ```
//! use std::sync::Arc;
//! use kev_core::pipeline::{Pipeline, Route};
//! use kev_core::{Batch, DefaultNormalizer, MemoryStore, NormalizeConfig, ReplaySource, Sink, SinkError};
//!
//! #[derive(Debug)]
//! struct Print;
//!
//! #[async_trait::async_trait]
//! impl Sink for Print {
//!     fn name(&self) -> &str {
//!         "print"
//!     }
//!     async fn deliver(&self, batch: Batch<'_>) -> Result<(), SinkError> {
//!         for (stored, _context) in batch.iter() {
//!             println!("{} {}", stored.seq, stored.event.reason);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let path = std::env::temp_dir().join(format!("kev-core-doc-{}.jsonl", std::process::id()));
//! std::fs::write(&path, r#"{"apiVersion": "v1", "kind": "Event", "reason": "BackOff", "type": "Warning",
//!   "metadata": {"name": "web.1", "namespace": "shop", "uid": "u1", "resourceVersion": "7"},
//!   "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web"}, "message": "restarting"}"#.replace('\n', ""))?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let report = runtime.block_on(async {
//!     let source = ReplaySource::open(path.to_str().unwrap_or_default())?;
//!     let normalizer = Arc::new(DefaultNormalizer::new(&NormalizeConfig::default())?);
//!     let route = Route::new("all", Arc::new(kev_core::filter::KeepAll)).sink(Arc::new(Print));
//!     let report = Pipeline::new(Box::new(source), normalizer, Arc::new(MemoryStore::new()))
//!         .route(route)
//!         .run(tokio_util::sync::CancellationToken::new())
//!         .await?;
//!     Ok::<_, Box<dyn std::error::Error>>(report)
//! })?;
//! assert_eq!((report.stored, report.routes[0].delivered), (1, 1));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod condition;
pub mod config;
pub mod enrich;
pub mod event;
pub mod filter;
pub mod metrics;
pub mod normalize;
pub mod owners;
pub mod pipeline;
pub mod ratelimit;
pub mod remediation;
pub mod sink;
pub mod source;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use enrich::{EnrichConfig, Enricher, EventContext};
pub use event::{Event, EventType, IdempotencyKey, ObjectRef};
pub use filter::{Filter, FilterConfig, RuleConfig, SelectorFilter};
pub use normalize::{DefaultNormalizer, KubeEvent, NormalizeConfig, NormalizeError, Normalizer};
pub use owners::{OwnerChain, OwnerLink};
pub use ratelimit::{
    Clock, Decision, LimitKey, ManualClock, RateLimitConfig, RateLimiter, SystemClock,
    TokenBucketLimiter,
};
pub use remediation::{RemediationConfig, RemediationGate};
pub use sink::{Batch, Sink, SinkError};
pub use source::replay::ReplaySource;
pub use source::{CommitHook, EventSource, RawEvent, SourceError, SourceItem};
pub use store::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, MemoryStore, Order, Query, Retention,
    Store, StoreError, StoreStats, StoredEvent,
};
