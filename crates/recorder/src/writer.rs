//! [`Writer`]: the background task. Takes events off the queue in order, finds the API
//! group once, turns each event into a CREATE or PATCH (series cache or correlator),
//! sends it with client-go's retry rules, and runs the periodic series pass.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kev_core::Clock;
use tokio::sync::{mpsc, oneshot};

use super::api::{ApiGroup, CallError, EventsApi};
use super::config::RecorderConfig;
use super::legacy::{CoreWrite, Correlator};
use super::new_event::{DropReason, NewEvent};
use super::objects::Times;
use super::reporter::Reporter;
use super::sanitize::Sanitizer;
use super::series::{Due, Entry, SeriesCache, SeriesWrite};
use super::shared::Shared;
use super::stats::Verb;

/// An accepted event and the monotonic time it was published at.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) event: NewEvent,
    pub(crate) at: Duration,
}

/// What the queue carries.
#[derive(Debug)]
pub(crate) enum Command {
    Event(Box<Queued>),
    /// Run the periodic pass, then answer.
    Flush(oneshot::Sender<()>),
    /// Write every unwritten series count, then answer.
    Close(oneshot::Sender<()>),
}

/// What one try of a write came to.
#[derive(Debug)]
enum Step {
    Done,
    Retry,
    GiveUp(DropReason),
}

/// The writer task's state.
#[derive(Debug)]
pub(crate) struct Writer {
    api: EventsApi,
    reporter: Reporter,
    config: RecorderConfig,
    sanitizer: Sanitizer,
    clock: Arc<dyn Clock>,
    shared: Arc<Shared>,
    times: Times,
    group: Option<ApiGroup>,
    series: SeriesCache,
    correlator: Correlator,
    /// xorshift state for jitter.
    rng: u64,
}

impl Writer {
    pub(crate) fn new(
        api: EventsApi,
        reporter: Reporter,
        config: RecorderConfig,
        sanitizer: Sanitizer,
        clock: Arc<dyn Clock>,
        shared: Arc<Shared>,
    ) -> Self {
        let origin = Timestamp::now()
            .checked_sub(jiff::SignedDuration::try_from(clock.now()).unwrap_or_default())
            .unwrap_or_else(|_| Timestamp::now());
        Self {
            api,
            series: SeriesCache::new(
                config.cache_size,
                config.series_finish,
                config.series_heartbeat,
            ),
            correlator: Correlator::new(
                config.cache_size,
                config.aggregate_max_events,
                config.aggregate_window,
            ),
            reporter,
            sanitizer,
            clock,
            shared,
            times: Times::new(origin),
            group: None,
            rng: RandomState::new().hash_one(0u8) | 1,
            config,
        }
    }

    /// Runs until every recorder handle is dropped.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let period = self.config.maintenance_interval;
        // The first pass one period from now: at start there is nothing to do.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    None => break,
                    Some(Command::Event(q)) => self.handle(*q).await,
                    Some(Command::Flush(done)) => {
                        self.maintain().await;
                        let _ = done.send(());
                    }
                    Some(Command::Close(done)) => {
                        for entry in self.series.unwritten() {
                            self.finish(entry).await;
                        }
                        let _ = done.send(());
                    }
                },
                _ = tick.tick() => self.maintain().await,
            }
            self.publish_sizes();
        }
    }

    fn publish_sizes(&self) {
        let n = match self.group {
            Some(ApiGroup::Core) => self.correlator.len(),
            _ => self.series.len(),
        };
        self.shared.cached.store(n, Ordering::Relaxed);
    }

    async fn handle(&mut self, q: Queued) {
        let Some(group) = self.discover().await else {
            self.shared.counters.dropped(DropReason::RetriesExhausted);
            return;
        };
        let mut event = q.event;
        event.note = self.sanitizer.note(std::mem::take(&mut event.note));
        match group {
            ApiGroup::Events => {
                let (write, evicted) =
                    self.series
                        .observe(event, &self.reporter, q.at, &mut self.times);
                if let Some(entry) = evicted {
                    self.finish(entry).await;
                }
                if let Some(write) = write {
                    self.send_series(write).await;
                }
            }
            ApiGroup::Core => {
                let write = self
                    .correlator
                    .observe(event, &self.reporter, q.at, &mut self.times);
                self.send_core(write).await;
            }
        }
    }

    /// The group, asking discovery (with retries) the first time.
    async fn discover(&mut self) -> Option<ApiGroup> {
        if let Some(g) = self.group {
            return Some(g);
        }
        let mut tries = 0;
        loop {
            self.shared.counters.api_call(Verb::Discover);
            let step = match self.api.discover().await {
                Ok(g) => {
                    tracing::info!(group = ?g, "recorder: writing events through {}", match g {
                        ApiGroup::Events => "events.k8s.io/v1",
                        ApiGroup::Core => "core/v1 (events.k8s.io/v1 is not served)",
                    });
                    self.group = Some(g);
                    let _ = self.shared.group.set(g);
                    return Some(g);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "recorder: discovery of events.k8s.io/v1 failed");
                    retry_or_give_up(&e)
                }
            };
            if !self.wait_before_retry(step, &mut tries).await {
                return None;
            }
        }
    }

    /// Sleeps before the next try; false when the tries are used up.
    async fn wait_before_retry(&mut self, step: Step, tries: &mut u32) -> bool {
        let Step::Retry = step else {
            return false;
        };
        *tries += 1;
        if *tries >= self.config.max_tries {
            return false;
        }
        // client-go: the retry sleep with up to 25 % jitter, so clients spread out.
        let base = self.config.retry_sleep;
        let jitter = base.mul_f64(0.25 * self.random_unit());
        tokio::time::sleep(base + jitter).await;
        true
    }

    fn random_unit(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn send_series(&mut self, write: SeriesWrite) {
        let mut tries = 0;
        loop {
            let step = self.try_series(&write).await;
            match step {
                Step::Done => {
                    if let SeriesWrite::Patch(entry) = &write {
                        self.series.written(entry, self.clock.now());
                    }
                    return;
                }
                Step::GiveUp(why) => {
                    self.shared.counters.dropped(why);
                    return;
                }
                Step::Retry => {
                    if !self.wait_before_retry(step, &mut tries).await {
                        self.shared.counters.dropped(DropReason::RetriesExhausted);
                        return;
                    }
                }
            }
        }
    }

    async fn try_series(&self, write: &SeriesWrite) -> Step {
        match write {
            SeriesWrite::Create(event) => self.create_events(event).await,
            SeriesWrite::Patch(entry) => self.patch_series(entry).await,
        }
    }

    async fn create_events(&self, event: &EventsEvent) -> Step {
        self.shared.counters.api_call(Verb::Create);
        match self.api.create_events(event).await {
            Ok(()) => Step::Done,
            // A series' CREATE after a 404 raced with another CREATE: the next try PATCHes.
            Err(e) if e.is_already_exists() && event.series.is_some() => Step::Retry,
            Err(e) => {
                log_failure(&e);
                retry_or_give_up(&e)
            }
        }
    }

    async fn patch_series(&self, entry: &Entry) -> Step {
        self.shared.counters.api_call(Verb::Patch);
        match self
            .api
            .patch_events(entry.namespace(), entry.name(), &entry.series_patch())
            .await
        {
            Ok(()) => Step::Done,
            // Gone (TTL): create it again, series and all.
            Err(e) if e.is_not_found() => self.create_events(&entry.full_event()).await,
            Err(e) => {
                log_failure(&e);
                retry_or_give_up(&e)
            }
        }
    }

    /// One try of a final PATCH; the entry leaves the cache unless it is worth another
    /// try at the next pass.
    async fn finish(&mut self, entry: Entry) {
        match self.patch_series(&entry).await {
            Step::Retry => {}
            Step::Done => self.series.forget(entry.key()),
            Step::GiveUp(why) => {
                self.shared.counters.dropped(why);
                self.series.forget(entry.key());
            }
        }
    }

    /// The periodic pass over the series cache (events.k8s.io/v1 only).
    async fn maintain(&mut self) {
        if self.group != Some(ApiGroup::Events) {
            return;
        }
        let now = self.clock.now();
        for (due, entry) in self.series.due(now) {
            match due {
                Due::Forget => self.series.forget(entry.key()),
                Due::Finish => self.finish(entry).await,
                Due::Heartbeat => {
                    if let Step::Done = self.patch_series(&entry).await {
                        self.series.written(&entry, now);
                    }
                }
            }
        }
    }

    async fn send_core(&mut self, write: CoreWrite) {
        let mut tries = 0;
        loop {
            let step = self.try_core(&write).await;
            match step {
                Step::Done => return,
                Step::GiveUp(why) => {
                    self.shared.counters.dropped(why);
                    return;
                }
                Step::Retry => {
                    if !self.wait_before_retry(step, &mut tries).await {
                        self.shared.counters.dropped(DropReason::RetriesExhausted);
                        return;
                    }
                }
            }
        }
    }

    async fn try_core(&self, write: &CoreWrite) -> Step {
        if let Some(patch) = &write.patch {
            self.shared.counters.api_call(Verb::Patch);
            match self
                .api
                .patch_core(write.namespace(), write.name(), patch)
                .await
            {
                Ok(()) => return Step::Done,
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    log_failure(&e);
                    return retry_or_give_up(&e);
                }
            }
        }
        self.shared.counters.api_call(Verb::Create);
        match self.api.create_core(&write.event).await {
            Ok(()) => Step::Done,
            // client-go's tools/record does not retry an existing event.
            Err(e) if e.is_already_exists() => Step::Done,
            Err(e) => {
                log_failure(&e);
                retry_or_give_up(&e)
            }
        }
    }
}

fn log_failure(e: &CallError) {
    tracing::debug!(error = %e, "recorder: write failed");
}

/// As client-go's `recordEvent`: no answer is tried again; an answer is final. A 429
/// reaching here already went through the client's own `Retry-After` retries.
fn retry_or_give_up(e: &CallError) -> Step {
    match e {
        CallError::Transport(_) => Step::Retry,
        e if e.is_too_many_requests() => {
            tracing::warn!(error = %e, "recorder: the API server is throttling events; dropping one");
            Step::GiveUp(DropReason::Throttled)
        }
        e => {
            tracing::warn!(error = %e, "recorder: the API server refused an event; not retrying");
            Step::GiveUp(DropReason::Rejected)
        }
    }
}
