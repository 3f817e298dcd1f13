//! A [`Route`]: filter → rate limiter → [remediation gate] → [enricher] → sinks, reading
//! the store log from its own cursor.
//!
//! The delivery rule (docs/specs/delivery.md): the cursor is committed only past events
//! that every sink of the route acknowledged or that were dead-lettered.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Backoff, PipelineError};
use crate::enrich::{EnrichedEvent, Enricher, EventContext};
use crate::filter::Filter;
use crate::metrics as m;
use crate::ratelimit::{Decision, RateLimiter};
use crate::remediation::{GateDecision, RemediationGate};
use crate::sink::{Sink, SinkError};
use crate::store::{AsyncStore, DeadLetter, StoreOp, StoredEvent};

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

/// What a route did during one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteReport {
    pub route: String,
    pub delivered: u64,
    pub filtered: u64,
    pub limited: u64,
    pub suppressed: u64,
    pub dead_lettered: u64,
    /// Held back by the remediation gate (below the occurrence threshold or cooling down).
    pub gated: u64,
    /// The committed cursor when the route stopped.
    pub cursor: u64,
}

/// Live counters of a route, readable while it runs (an EventPolicy's status reads
/// them). Cheap to clone; clones share the counters. Hand the same handle to the route
/// that replaces this one ([`Route::stats_handle`]) and the counts go on.
///
/// ```
/// use std::sync::Arc;
/// use kev_core::pipeline::{Route, RouteStats};
/// let stats = RouteStats::default();
/// let route = Route::new("r", Arc::new(kev_core::filter::KeepAll)).stats_handle(stats.clone());
/// assert_eq!(route.stats().snapshot(), stats.snapshot());
/// assert_eq!(stats.snapshot().matched, 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RouteStats(Arc<RouteCounters>);

#[derive(Debug, Default)]
struct RouteCounters {
    matched: AtomicU64,
    delivered: AtomicU64,
    dead_lettered: AtomicU64,
    limited: AtomicU64,
    cooled_down: AtomicU64,
    below_threshold: AtomicU64,
    /// Unix milliseconds of the last match; 0: none yet.
    last_matched_ms: AtomicI64,
}

/// The counters of a [`RouteStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStatsSnapshot {
    /// Events that passed the route's filter.
    pub matched: u64,
    /// Events every sink acknowledged.
    pub delivered: u64,
    /// Events dead-lettered after a permanent failure.
    pub dead_lettered: u64,
    /// Events the rate limiter held back (limited or suppressed).
    pub limited: u64,
    /// Events the remediation gate held back because the problem cools down.
    pub cooled_down: u64,
    /// Events the remediation gate held back below its occurrence threshold.
    pub below_threshold: u64,
    /// When an event last passed the filter.
    pub last_matched: Option<jiff::Timestamp>,
}

impl RouteStats {
    pub fn snapshot(&self) -> RouteStatsSnapshot {
        let c = &self.0;
        let last = c.last_matched_ms.load(Ordering::Relaxed);
        RouteStatsSnapshot {
            matched: c.matched.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            limited: c.limited.load(Ordering::Relaxed),
            cooled_down: c.cooled_down.load(Ordering::Relaxed),
            below_threshold: c.below_threshold.load(Ordering::Relaxed),
            last_matched: (last > 0)
                .then(|| jiff::Timestamp::from_millisecond(last).ok())
                .flatten(),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
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
/// #   async fn deliver(&self, _: &[kev_core::StoredEvent]) -> Result<(), kev_core::SinkError> { Ok(()) } }
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
    sinks: Vec<Arc<dyn Sink>>,
    policy: SinkPolicy,
    stats: RouteStats,
}

/// A batch as the sinks get it: the events alone, or with their context.
#[derive(Clone, Copy)]
enum Items<'a> {
    Plain(&'a [StoredEvent]),
    Enriched(&'a [EnrichedEvent]),
}

impl<'a> Items<'a> {
    fn len(self) -> usize {
        match self {
            Self::Plain(e) => e.len(),
            Self::Enriched(e) => e.len(),
        }
    }

    fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn skip(self, n: usize) -> Self {
        match self {
            Self::Plain(e) => Self::Plain(&e[n..]),
            Self::Enriched(e) => Self::Enriched(&e[n..]),
        }
    }

    fn one(self, i: usize) -> Self {
        match self {
            Self::Plain(e) => Self::Plain(&e[i..=i]),
            Self::Enriched(e) => Self::Enriched(&e[i..=i]),
        }
    }

    fn stored(self, i: usize) -> &'a StoredEvent {
        match self {
            Self::Plain(e) => &e[i],
            Self::Enriched(e) => &e[i].stored,
        }
    }

    async fn send(self, sink: &dyn Sink) -> Result<(), SinkError> {
        match self {
            Self::Plain(e) => sink.deliver(e).await,
            Self::Enriched(e) => sink.deliver_enriched(e).await,
        }
    }
}

pub(super) struct RouteContext {
    pub store: AsyncStore,
    pub last_seq: watch::Receiver<u64>,
    pub ingest_done: CancellationToken,
    /// Cancelled when the drain timeout passed: stop without committing.
    pub abort: CancellationToken,
    pub stored_at: super::stored_at::StoredAt,
}

enum Delivered {
    Yes,
    Aborted,
}

impl Route {
    pub fn new(name: impl Into<String>, filter: Arc<dyn Filter>) -> Self {
        Self {
            name: name.into(),
            filter,
            limiter: None,
            gate: None,
            enricher: None,
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

    /// Gathers context for each selected event; the sinks then get
    /// [`Sink::deliver_enriched`] instead of [`Sink::deliver`].
    #[must_use]
    pub fn enricher(mut self, enricher: Arc<dyn Enricher>) -> Self {
        self.enricher = Some(enricher);
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
        // Registering the cursor makes retention wait for this route.
        let mut cursor = ctx
            .store
            .run(StoreOp::Commit, {
                let name = name.clone();
                move |s| {
                    let c = s.cursor(&name)?;
                    s.commit_cursor(&name, c)?;
                    Ok(c)
                }
            })
            .await?;
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
                finish_commit(in_flight.take(), &name, &mut report).await?;
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
                Some(next) if next.from == cursor + 1 => next.wait().await?,
                _ => Vec::new(),
            };
            let page = if page.is_empty() {
                read_page(&ctx.store, cursor + 1, page_size).await?
            } else {
                page
            };
            // Retention may have evicted what this route had not read (hard cap only).
            let read_through = page.last().map_or(last, |e| e.seq);
            // A full page means a backlog: read the next one while this one is delivered.
            if page.len() == page_size && read_through < *ctx.last_seq.borrow() {
                prefetched = Some(Prefetch::start(&ctx.store, read_through + 1, page_size));
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
            finish_commit(in_flight.take(), &name, &mut report).await?;
            if delivered_through > cursor {
                in_flight = Some(PendingCommit::start(&ctx, &name, delivered_through, seqs));
                cursor = delivered_through;
            }
            if aborted {
                break;
            }
        }
        finish_commit(in_flight.take(), &name, &mut report).await?;
        Ok(report)
    }

    /// One sink batch: filter, limit, gate, enrich, deliver to every sink. The seqs of the
    /// delivered events go to `delivered` (for the latency once the cursor is committed).
    async fn process(
        &mut self,
        batch: Vec<StoredEvent>,
        ctx: &RouteContext,
        report: &mut RouteReport,
        delivered: &mut Vec<u64>,
    ) -> Result<Delivered, PipelineError> {
        let selected = self.select(batch, report);
        let selected = self.gate(selected, ctx, report).await?;
        let enriched = self.enrich(&selected).await;
        let items = match &enriched {
            Some(e) => Items::Enriched(e),
            None => Items::Plain(&selected),
        };
        let dead_before = report.dead_lettered;
        for sink in self.sinks.clone() {
            if let Delivered::Aborted = self.deliver(sink.as_ref(), items, ctx, report).await? {
                return Ok(Delivered::Aborted);
            }
        }
        let dead = report.dead_lettered - dead_before;
        let delivered_now = (selected.len() as u64).saturating_sub(dead);
        report.delivered += delivered_now;
        RouteStats::add(&self.stats.0.delivered, delivered_now);
        RouteStats::add(&self.stats.0.dead_lettered, dead);
        delivered.extend(selected.iter().map(|e| e.seq));
        Ok(Delivered::Yes)
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

    fn select(&mut self, batch: Vec<StoredEvent>, report: &mut RouteReport) -> Vec<StoredEvent> {
        let mut selected = Vec::with_capacity(batch.len());
        for stored in batch {
            if !self.filter.keep(&stored.event) {
                report.filtered += 1;
                metrics::counter!(m::EVENTS_FILTERED_TOTAL, "stage" => "route").increment(1);
                continue;
            }
            RouteStats::add(&self.stats.0.matched, 1);
            self.stats
                .0
                .last_matched_ms
                .store(jiff::Timestamp::now().as_millisecond(), Ordering::Relaxed);
            let decision = self
                .limiter
                .as_mut()
                .map_or(Decision::Allow, |l| l.decide(&stored.event));
            metrics::counter!(m::ROUTE_DECISIONS_TOTAL, "route" => self.name.clone(), "decision" => decision.as_str())
                .increment(1);
            match decision {
                Decision::Allow => selected.push(stored),
                Decision::Limited => {
                    report.limited += 1;
                    RouteStats::add(&self.stats.0.limited, 1);
                }
                Decision::Suppressed => {
                    report.suppressed += 1;
                    RouteStats::add(&self.stats.0.limited, 1);
                }
            }
        }
        selected
    }

    /// Passes the selected events through the remediation gate, if the route has one.
    async fn gate(
        &self,
        selected: Vec<StoredEvent>,
        ctx: &RouteContext,
        report: &mut RouteReport,
    ) -> Result<Vec<StoredEvent>, PipelineError> {
        let Some(gate) = self.gate.clone() else {
            return Ok(selected);
        };
        if selected.is_empty() {
            return Ok(selected);
        }
        let (kept, decisions) = ctx
            .store
            .run(StoreOp::Write, move |s| {
                let mut kept = Vec::with_capacity(selected.len());
                let mut decisions = Vec::with_capacity(selected.len());
                for stored in selected {
                    let decision = gate.admit(s, &stored.event)?;
                    decisions.push(decision.as_str());
                    if decision == GateDecision::Fire {
                        kept.push(stored);
                    }
                }
                Ok((kept, decisions))
            })
            .await?;
        for decision in decisions {
            metrics::counter!(m::REMEDIATION_GATE_TOTAL, "route" => self.name.clone(), "decision" => decision)
                .increment(1);
            match decision {
                "fire" => {}
                "cooldown" => {
                    report.gated += 1;
                    RouteStats::add(&self.stats.0.cooled_down, 1);
                }
                _ => {
                    report.gated += 1;
                    RouteStats::add(&self.stats.0.below_threshold, 1);
                }
            }
        }
        Ok(kept)
    }

    /// Gathers each event's context, if the route has an enricher.
    async fn enrich(&self, selected: &[StoredEvent]) -> Option<Vec<EnrichedEvent>> {
        let enricher = self.enricher.as_ref()?;
        let mut enriched = Vec::with_capacity(selected.len());
        for stored in selected {
            let mut context = EventContext::default();
            enricher.enrich(stored, &mut context).await;
            enriched.push(EnrichedEvent {
                stored: stored.clone(),
                context,
            });
        }
        Some(enriched)
    }

    /// Delivers `events` to one sink: retries what is retryable until it succeeds or the
    /// route is aborted; isolates and dead-letters what fails permanently.
    async fn deliver(
        &self,
        sink: &dyn Sink,
        events: Items<'_>,
        ctx: &RouteContext,
        report: &mut RouteReport,
    ) -> Result<Delivered, PipelineError> {
        if events.is_empty() {
            return Ok(Delivered::Yes);
        }
        let mut backoff = Backoff::new(self.policy.retry_initial, self.policy.retry_max);
        let mut events = events;
        loop {
            let result = tokio::select! {
                r = events.send(sink) => r,
                () = ctx.abort.cancelled() => return Ok(Delivered::Aborted),
            };
            let error = match result {
                Ok(()) => {
                    metrics::counter!(m::SINK_SENT_TOTAL, "sink" => sink.name().to_owned())
                        .increment(events.len() as u64);
                    return Ok(Delivered::Yes);
                }
                Err(e) => e,
            };
            metrics::counter!(m::SINK_ERRORS_TOTAL, "sink" => sink.name().to_owned(), "retryable" => bool_label(error.retryable))
                .increment(1);
            // What the sink acknowledged before failing is not sent again.
            let done = error.delivered.min(events.len());
            if done > 0 {
                metrics::counter!(m::SINK_SENT_TOTAL, "sink" => sink.name().to_owned())
                    .increment(done as u64);
                events = events.skip(done);
                backoff.reset();
                if events.is_empty() {
                    return Ok(Delivered::Yes);
                }
            }
            if !error.retryable {
                return self
                    .dead_letter_or_split(sink, events, error, ctx, report)
                    .await;
            }
            let delay = error.retry_after.unwrap_or_else(|| backoff.next_delay());
            tracing::warn!(route = %self.name, sink = sink.name(), error = %error, ?delay, "delivery failed; retrying");
            metrics::counter!(m::SINK_RETRIES_TOTAL, "sink" => sink.name().to_owned()).increment(1);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctx.abort.cancelled() => return Ok(Delivered::Aborted),
            }
        }
    }

    /// A permanent failure of a batch: deliver its events one by one so that only the
    /// ones the sink refuses are dead-lettered.
    async fn dead_letter_or_split(
        &self,
        sink: &dyn Sink,
        events: Items<'_>,
        error: SinkError,
        ctx: &RouteContext,
        report: &mut RouteReport,
    ) -> Result<Delivered, PipelineError> {
        if events.len() == 1 {
            let only = events.stored(0);
            let letter = DeadLetter {
                route: self.name.clone(),
                sink: sink.name().to_owned(),
                seq: only.seq,
                error: error.message,
                at: jiff::Timestamp::now(),
                event: only.event.clone(),
            };
            tracing::error!(route = %self.name, sink = sink.name(), seq = only.seq, error = %letter.error, "delivery failed for good; dead-lettered");
            ctx.store.dead_letter(letter).await?;
            metrics::counter!(m::SINK_DEAD_LETTER_TOTAL, "sink" => sink.name().to_owned())
                .increment(1);
            report.dead_lettered += 1;
            return Ok(Delivered::Yes);
        }
        for i in 0..events.len() {
            let one = events.one(i);
            if let Delivered::Aborted = Box::pin(self.deliver(sink, one, ctx, report)).await? {
                return Ok(Delivered::Aborted);
            }
        }
        Ok(Delivered::Yes)
    }
}

async fn read_page(
    store: &AsyncStore,
    from: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, PipelineError> {
    Ok(store.read_log(from, limit).await?)
}

/// The next page of a backlog, read on the blocking pool while the current one is
/// delivered (two pages in memory at most).
struct Prefetch {
    from: u64,
    task: crate::store::StoreTask<Vec<StoredEvent>>,
}

impl Prefetch {
    fn start(store: &AsyncStore, from: u64, limit: usize) -> Self {
        Self {
            from,
            task: store.read_log(from, limit),
        }
    }

    async fn wait(self) -> Result<Vec<StoredEvent>, PipelineError> {
        Ok(self.task.await?)
    }
}

/// A cursor commit running on the blocking pool, with what to measure once it is done.
struct PendingCommit {
    task: crate::store::StoreTask<()>,
    through: u64,
    /// Seqs of the events delivered in the page, for `kev_sink_latency_seconds`.
    seqs: Vec<u64>,
    stored_at: super::stored_at::StoredAt,
}

impl PendingCommit {
    fn start(ctx: &RouteContext, route: &str, through: u64, seqs: Vec<u64>) -> Self {
        Self {
            task: ctx.store.commit_cursor(route, through),
            through,
            seqs,
            stored_at: ctx.stored_at.clone(),
        }
    }
}

/// Waits for the commit in flight, if any: the route's cursor is then durable up to its
/// page and those events are acknowledged (stored → acknowledged latency).
async fn finish_commit(
    commit: Option<PendingCommit>,
    route: &str,
    report: &mut RouteReport,
) -> Result<(), PipelineError> {
    let Some(commit) = commit else {
        return Ok(());
    };
    commit.task.await?;
    let acknowledged = std::time::Instant::now();
    let latency = metrics::histogram!(m::SINK_LATENCY_SECONDS, "route" => route.to_owned());
    for seq in commit.seqs {
        if let Some(stored) = commit.stored_at.lookup(seq) {
            latency.record(acknowledged.duration_since(stored).as_secs_f64());
        }
    }
    report.cursor = commit.through;
    Ok(())
}

fn bool_label(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
