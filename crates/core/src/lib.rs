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

pub mod config;
pub mod enrich;
pub mod event;
pub mod filter;
pub mod metrics;
pub mod normalize;
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
