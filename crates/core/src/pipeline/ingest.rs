//! The ingest side: source items are normalized, filtered, batched and appended.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{PipelineConfig, PipelineError, VolumeTally};
use crate::condition::{ConditionTracker, Signal};
use crate::event::Event;
use crate::filter::Filter;
use crate::metrics as m;
use crate::normalize::Normalizer;
use crate::owners::infer_chain;
use crate::source::{CommitHook, EventSource, RawEvent, SourceError, SourceItem};
use crate::store::{AppendOutcome, AsyncStore, Checkpoint};

/// Queued items taken per wake-up of the ingest task before it looks at its timer again.
const DRAIN_PER_WAKE: usize = 256;

pub(super) struct Ingest {
    pub normalizer: Arc<dyn Normalizer>,
    pub filter: Arc<dyn Filter>,
    pub store: AsyncStore,
    pub config: PipelineConfig,
    pub last_seq: watch::Sender<u64>,
    pub stored_at: super::stored_at::StoredAt,
    pub volume: std::sync::Mutex<super::EventVolume>,
    pub conditions: Option<Arc<ConditionTracker>>,
}

#[derive(Debug, Default)]
pub(super) struct IngestReport {
    pub received: u64,
    pub normalize_errors: u64,
    pub filtered: u64,
    pub stored: u64,
    pub duplicates: u64,
}

/// The batch being filled and the checkpoint that becomes valid once it is stored.
#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    checkpoint: Option<Checkpoint>,
    since: Option<tokio::time::Instant>,
}

impl Ingest {
    pub async fn run(
        self,
        source: Box<dyn EventSource>,
        shutdown: CancellationToken,
    ) -> Result<IngestReport, PipelineError> {
        let source_kind = source.kind();
        let hook = source.commit_hook();
        let (tx, mut rx) = mpsc::channel(self.config.channel_capacity.max(1));
        let reader = tokio::spawn(read_source(source, tx, shutdown));

        let mut report = IngestReport::default();
        let mut pending = Pending {
            events: self.batch_vec(),
            ..Pending::default()
        };
        // One timer for the partial-batch deadline, re-armed only when the deadline
        // moves: registering a fresh timer per received item cost more than the item.
        let timer = tokio::time::sleep(self.config.batch_max_delay);
        tokio::pin!(timer);
        let mut armed = None;
        let result = 'run: loop {
            let deadline = pending.since.map(|t| t + self.config.batch_max_delay);
            if deadline != armed {
                if let Some(d) = deadline {
                    timer.as_mut().reset(d);
                }
                armed = deadline;
            }
            let first = tokio::select! {
                item = rx.recv() => item,
                () = &mut timer, if armed.is_some() => {
                    if let Err(e) = self.flush(&mut pending, &mut report, hook.as_ref()).await {
                        break Err(e);
                    }
                    continue;
                }
            };
            // Take what else is queued without going back to the select (bounded, so the
            // deadline is still looked at under a steady stream).
            let mut item = first;
            for taken in 1..=DRAIN_PER_WAKE {
                match item {
                    Some(Ok(it)) => self.accept(it, &mut pending, &mut report, source_kind),
                    Some(Err(e)) => break 'run Err(PipelineError::Source(e)),
                    None => break 'run Ok(()),
                }
                if pending.events.len() >= self.config.batch_max_events
                    && let Err(e) = self.flush(&mut pending, &mut report, hook.as_ref()).await
                {
                    break 'run Err(e);
                }
                if taken == DRAIN_PER_WAKE {
                    break;
                }
                match rx.try_recv() {
                    Ok(next) => item = Some(next),
                    Err(_) => break,
                }
            }
        };
        // Store what was accepted even when the source failed: it was read, it is valid.
        let flushed = self.flush(&mut pending, &mut report, hook.as_ref()).await;
        reader.abort();
        result?;
        flushed?;
        Ok(report)
    }

    fn accept(
        &self,
        item: SourceItem,
        pending: &mut Pending,
        report: &mut IngestReport,
        kind: &'static str,
    ) {
        pending.since.get_or_insert_with(tokio::time::Instant::now);
        let (raw, location, checkpoint) = match item {
            SourceItem::Progress(cp) => {
                pending.checkpoint = Some(cp);
                return;
            }
            SourceItem::Event {
                raw,
                location,
                checkpoint,
            } => (raw, location, checkpoint),
        };
        if checkpoint.is_some() {
            pending.checkpoint = checkpoint;
        }
        report.received += 1;
        let normalized = match raw {
            RawEvent::Kube(raw) => self.normalizer.normalize(*raw),
            RawEvent::Normalized(event) => Ok(self.normalizer.sanitize(*event)),
        };
        let mut event = match normalized {
            Ok(event) => event,
            Err(e) => {
                report.normalize_errors += 1;
                metrics::counter!(m::EVENTS_NORMALIZE_ERRORS_TOTAL, "reason" => e.metric_reason())
                    .increment(1);
                tracing::warn!(%location, error = %e, "skipping an event that cannot be normalized");
                return;
            }
        };
        metrics::counter!(m::EVENTS_RECEIVED_TOTAL, "source" => kind, "type" => event.r#type.metric_label())
            .increment(1);
        if event.cluster.is_empty() {
            event.cluster.clone_from(&self.config.cluster);
        }
        if !self.filter.keep(&event) {
            report.filtered += 1;
            metrics::counter!(m::EVENTS_FILTERED_TOTAL, "stage" => "store").increment(1);
            return;
        }
        // A source without the API (replay, an agent that sent none): the names' chain.
        if event.owners.is_empty() {
            event.owners = infer_chain(&event.regarding);
        }
        pending.events.push(event);
    }

    async fn flush(
        &self,
        pending: &mut Pending,
        report: &mut IngestReport,
        hook: Option<&CommitHook>,
    ) -> Result<(), PipelineError> {
        pending.since = None;
        if pending.events.is_empty() && pending.checkpoint.is_none() {
            return Ok(());
        }
        let events = std::mem::replace(&mut pending.events, self.batch_vec());
        let checkpoint = pending.checkpoint.take();
        let committed = hook.and(checkpoint.clone());
        // Tallied before the events move into the store; used when none was a duplicate.
        let tally = match self.volume.lock() {
            Ok(volume) => volume.tally(&events),
            Err(_) => VolumeTally::default(),
        };
        let signals = self.conditions.as_ref().map(|t| t.signals(&events));
        let started = Instant::now();
        let outcome = self.store.append(events, checkpoint).await?;
        if let (Some(hook), Some(checkpoint)) = (hook, committed) {
            hook(&checkpoint);
        }
        metrics::histogram!(m::PIPELINE_BATCH_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::counter!(m::EVENTS_STORED_TOTAL).increment(outcome.stored as u64);
        metrics::counter!(m::EVENTS_DEDUPLICATED_TOTAL).increment(outcome.duplicates as u64);
        report.stored += outcome.stored as u64;
        report.duplicates += outcome.duplicates as u64;
        self.count_stored(tally, signals, &outcome).await?;
        self.stored_at.mark(outcome.last_seq, Instant::now());
        self.last_seq.send_replace(outcome.last_seq);
        Ok(())
    }
}

impl Ingest {
    /// An empty batch sized for a full one: no reallocation (and copy) while it fills.
    fn batch_vec(&self) -> Vec<Event> {
        Vec::with_capacity(self.config.batch_max_events.min(4096))
    }

    /// `kev_events_total` and the condition tracker count stored events only. Without
    /// duplicates (the steady state of a watch) that is the whole batch; after a relist
    /// the stored ones are read back (a repeated old failure must not reopen a condition).
    async fn count_stored(
        &self,
        tally: VolumeTally,
        signals: Option<Vec<Signal>>,
        outcome: &AppendOutcome,
    ) -> Result<(), PipelineError> {
        if outcome.duplicates == 0 {
            if let Ok(mut volume) = self.volume.lock() {
                volume.record_tally(tally);
            }
            if let (Some(tracker), Some(signals)) = (&self.conditions, signals) {
                tracker.apply(signals);
            }
            return Ok(());
        }
        if outcome.stored == 0 {
            return Ok(());
        }
        let first = outcome.last_seq + 1 - outcome.stored as u64;
        let stored = outcome.stored;
        let read = self.store.read_log(first, stored).await?;
        if let Ok(mut volume) = self.volume.lock() {
            let tally = volume.tally(read.iter().map(|e| &e.event));
            volume.record_tally(tally);
        }
        if let Some(tracker) = &self.conditions {
            tracker.apply(tracker.signals(read.iter().map(|e| &e.event)));
        }
        Ok(())
    }
}

async fn read_source(
    mut source: Box<dyn EventSource>,
    tx: mpsc::Sender<Result<SourceItem, SourceError>>,
    shutdown: CancellationToken,
) {
    loop {
        let item = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            item = source.next() => item,
        };
        let Some(item) = item else { break };
        let fatal = item.is_err();
        if tx.send(item).await.is_err() || fatal {
            break;
        }
    }
}
