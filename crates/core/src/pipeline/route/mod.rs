//! A [`Route`]: filter → rate limiter → [remediation gate] → [enricher] → sinks, reading
//! the store log from its own cursor.
//!
//! The delivery rule (docs/specs/delivery.md): the cursor is committed only past events
//! that every sink of the route acknowledged or that were dead-lettered.
//!
//! By concern: [`select`] (filter, limiter, gate), [`deliver`] (the sinks, concurrently,
//! with retries and dead letters), [`commit`] (the cursor) and [`stats`] (one tally per
//! batch, flushed once into the report, the live stats and the metrics). This file reads
//! the log page by page and hands each batch through them.

mod commit;
mod deliver;
mod select;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::PipelineError;
use super::stored_at::StoredAt;
use crate::enrich::{Enricher, EventContext};
use crate::filter::Filter;
use crate::metrics as m;
use crate::normalize::Redactor;
use crate::ratelimit::RateLimiter;
use crate::remediation::RemediationGate;
use crate::sink::{Batch, Sink};
use crate::store::{AsyncStore, StoreTask, StoredEvent};
use commit::PendingCommit;
use deliver::{Delivered, Deliverer};
use stats::Tally;

pub use stats::{RouteReport, RouteStats, RouteStatsSnapshot};

/// Sink batches delivered per cursor commit when a backlog is read: a commit is a durable
/// write (an fsync on redb), so committing once per batch of 100 would cap a drain at a
/// few hundred commits a second. After a crash at most this many batches are repeated.
const BATCHES_PER_COMMIT: usize = 10;

/// Batching and retry settings shared by a route's sinks.
#[derive(Debug, Clone)]
pub struct SinkPolicy {
    /// Events per delivery.
    pub max_events: usize,
    /// How long a partial batch may wait for more events.
    pub max_delay: Duration,
    /// First retry delay; doubles per failure up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl Default for SinkPolicy {
    fn default() -> Self {
        Self {
            max_events: 100,
            max_delay: Duration::ZERO,
            retry_initial: Duration::from_millis(200),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// A named path from the store log to one or more sinks.
///
/// ```
/// use std::sync::Arc;
/// use kev_core::pipeline::Route;
/// use kev_core::filter::KeepAll;
/// # #[derive(Debug)] struct Null;
/// # #[async_trait::async_trait] impl kev_core::Sink for Null {
/// #   fn name(&self) -> &str { "null" }
/// #   async fn deliver(&self, _: kev_core::Batch<'_>) -> Result<(), kev_core::SinkError> { Ok(()) } }
/// let route = Route::new("all", Arc::new(KeepAll)).sink(Arc::new(Null));
/// assert_eq!(route.name(), "all");
/// ```
#[derive(Debug)]
pub struct Route {
    name: String,
    filter: Arc<dyn Filter>,
    limiter: Option<Box<dyn RateLimiter>>,
    gate: Option<RemediationGate>,
    enricher: Option<Arc<dyn Enricher>>,
    /// Applied to every gathered context before the sinks see it.
    redactor: Redactor,
    sinks: Vec<Arc<dyn Sink>>,
    policy: SinkPolicy,
    stats: RouteStats,
}

pub(super) struct RouteContext {
    pub store: AsyncStore,
    pub last_seq: watch::Receiver<u64>,
    pub ingest_done: CancellationToken,
    /// Cancelled when the drain timeout passed: stop without committing.
    pub abort: CancellationToken,
    pub stored_at: StoredAt,
}

impl Route {
    pub fn new(name: impl Into<String>, filter: Arc<dyn Filter>) -> Self {
        Self {
            name: name.into(),
            filter,
            limiter: None,
            gate: None,
            enricher: None,
            redactor: Redactor::default(),
            sinks: Vec::new(),
            policy: SinkPolicy::default(),
            stats: RouteStats::default(),
        }
    }

    /// The route's live counters.
    pub fn stats(&self) -> RouteStats {
        self.stats.clone()
    }

    /// Counts into `stats` (e.g. those of the route this one replaces).
    #[must_use]
    pub fn stats_handle(mut self, stats: RouteStats) -> Self {
        self.stats = stats;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its sinks and enricher, for sending its dead letters again
    /// ([`crate::pipeline::redeliver`]).
    pub fn target(&self) -> super::redeliver::RouteTarget {
        super::redeliver::RouteTarget {
            sinks: self.sinks.clone(),
            enricher: self.enricher.clone(),
        }
    }

    #[must_use]
    pub fn limiter(mut self, limiter: Box<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Lets events through only past the gate's occurrence threshold and outside its
    /// durable cooldown (after the filter and the rate limiter).
    #[must_use]
    pub fn remediation(mut self, gate: RemediationGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Gathers context for each selected event; the sinks then find it in
    /// [`Batch::contexts`].
    #[must_use]
    pub fn enricher(mut self, enricher: Arc<dyn Enricher>) -> Self {
        self.enricher = Some(enricher);
        self
    }

    /// Redacts the gathered context (logs, related events, spec) with `redactor`
    /// before the sinks see it; by default with the built-in detectors.
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    #[must_use]
    pub fn sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    #[must_use]
    pub fn policy(mut self, policy: SinkPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(super) async fn run(mut self, mut ctx: RouteContext) -> Result<RouteReport, PipelineError> {
        let name = self.name.clone();
        let mut report = RouteReport {
            route: name.clone(),
            ..Default::default()
        };
        let mut cursor = commit::register(&ctx.store, &name).await?;
        report.cursor = cursor;
        // The commit of the last page runs while the next page is delivered.
        let mut in_flight: Option<PendingCommit> = None;
        let mut prefetched: Option<Prefetch> = None;
        loop {
            let last = *ctx.last_seq.borrow_and_update();
            metrics::gauge!(m::ROUTE_BACKLOG, "route" => name.clone())
                .set(last.saturating_sub(cursor) as f64);
            if cursor >= last {
                // Nothing to read: make what was delivered durable before waiting.
                commit::finish(in_flight.take(), &name, &mut report).await?;
                if ctx.abort.is_cancelled() {
                    break;
                }
                if ctx.ingest_done.is_cancelled() {
                    // The ingest is done only after its last append was published, which
                    // may have come after `last` was read (during the commit above).
                    if *ctx.last_seq.borrow() > cursor {
                        continue;
                    }
                    break;
                }
                tokio::select! {
                    changed = ctx.last_seq.changed() => if changed.is_err() { ctx.ingest_done.cancelled().await },
                    () = ctx.ingest_done.cancelled() => {}
                    () = ctx.abort.cancelled() => {}
                }
                continue;
            }
            if !self.wait_for_full_batch(&mut ctx, cursor).await {
                break;
            }
            let page_size = self.policy.max_events.max(1) * BATCHES_PER_COMMIT;
            let page = match prefetched.take() {
                Some(next) if next.from == cursor + 1 => next.task.await?,
                _ => Vec::new(),
            };
            let page = if page.is_empty() {
                ctx.store.read_log(cursor + 1, page_size).await?
            } else {
                page
            };
            // Retention may have evicted what this route had not read (hard cap only).
            let read_through = page.last().map_or(last, |e| e.seq);
            // A full page means a backlog: read the next one while this one is delivered.
            if page.len() == page_size && read_through < *ctx.last_seq.borrow() {
                prefetched = Some(Prefetch {
                    from: read_through + 1,
                    task: ctx.store.read_log(read_through + 1, page_size),
                });
            }
            let mut delivered_through = cursor;
            let mut seqs = Vec::new();
            let mut aborted = false;
            let mut page = page.into_iter().peekable();
            while page.peek().is_some() {
                let batch: Vec<StoredEvent> =
                    page.by_ref().take(self.policy.max_events.max(1)).collect();
                let batch_last = batch.last().map_or(read_through, |e| e.seq);
                if let Delivered::Aborted =
                    self.process(batch, &ctx, &mut report, &mut seqs).await?
                {
                    aborted = true;
                    break;
                }
                delivered_through = batch_last;
            }
            if !aborted {
                delivered_through = read_through;
            }
            // Commits stay in order: the previous one ends before this one starts.
            commit::finish(in_flight.take(), &name, &mut report).await?;
            if delivered_through > cursor {
                in_flight = Some(PendingCommit::start(
                    &ctx.store,
                    &ctx.stored_at,
                    &name,
                    delivered_through,
                    seqs,
                ));
                cursor = delivered_through;
            }
            if aborted {
                break;
            }
        }
        commit::finish(in_flight.take(), &name, &mut report).await?;
        Ok(report)
    }

    /// One sink batch: select, enrich, deliver to every sink, then count it all once.
    /// The seqs of the delivered events go to `delivered` (for the latency once the
    /// cursor is committed).
    async fn process(
        &mut self,
        batch: Vec<StoredEvent>,
        ctx: &RouteContext,
        report: &mut RouteReport,
        delivered: &mut Vec<u64>,
    ) -> Result<Delivered, PipelineError> {
        let mut tally = Tally::default();
        let selected = select::select(
            self.filter.as_ref(),
            self.limiter.as_deref_mut(),
            batch,
            &mut tally,
        );
        let selected = select::gate(self.gate.as_ref(), &ctx.store, selected, &mut tally).await?;
        let contexts = self.enrich(&selected).await;
        let batch = match &contexts {
            Some(contexts) => Batch::enriched(&selected, contexts),
            None => Batch::new(&selected),
        };
        let deliverer = Deliverer {
            route: &self.name,
            store: &ctx.store,
            abort: &ctx.abort,
            retry_initial: self.policy.retry_initial,
            retry_max: self.policy.retry_max,
        };
        let outcome = deliverer.to_all(&self.sinks, batch).await?;
        if let Delivered::Done { dead_lettered } = outcome {
            tally.dead_lettered = dead_lettered;
            tally.delivered = (selected.len() as u64).saturating_sub(dead_lettered);
            delivered.extend(selected.iter().map(|e| e.seq));
        }
        // An aborted batch counts its decisions, not its deliveries: it is delivered
        // again after a restart.
        tally.flush(&self.name, report, &self.stats);
        Ok(outcome)
    }

    /// With a `max_delay`, waits until a whole batch is stored or the delay passed.
    /// Returns false when the route must stop.
    async fn wait_for_full_batch(&self, ctx: &mut RouteContext, cursor: u64) -> bool {
        if self.policy.max_delay.is_zero() {
            return true;
        }
        let deadline = tokio::time::Instant::now() + self.policy.max_delay;
        while *ctx.last_seq.borrow() - cursor < self.policy.max_events as u64
            && !ctx.ingest_done.is_cancelled()
        {
            tokio::select! {
                changed = ctx.last_seq.changed() => if changed.is_err() { break },
                () = tokio::time::sleep_until(deadline) => break,
                () = ctx.ingest_done.cancelled() => break,
                () = ctx.abort.cancelled() => return false,
            }
        }
        true
    }

    /// Gathers each event's context, if the route has an enricher, and redacts it.
    async fn enrich(&self, selected: &[StoredEvent]) -> Option<Vec<EventContext>> {
        let enricher = self.enricher.as_ref()?;
        let mut contexts = Vec::with_capacity(selected.len());
        for stored in selected {
            let mut context = EventContext::default();
            enricher.enrich(stored, &mut context).await;
            context.redact(&self.redactor);
            contexts.push(context);
        }
        Some(contexts)
    }
}

/// The next page of a backlog, read on the blocking pool while the current one is
/// delivered (two pages in memory at most).
struct Prefetch {
    from: u64,
    task: StoreTask<Vec<StoredEvent>>,
}
