//! Delivery of one batch to a route's sinks, all at once: each sink retries what is
//! retryable with its own [`Backoff`] and skips what it acknowledged before a failure
//! ([`SinkError::delivered`]); what fails for good is isolated and dead-lettered. The
//! batch is done when every sink is done with it, so the cursor passes only events that
//! every sink acknowledged or dead-lettered.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics as m;
use crate::pipeline::backoff::Backoff;
use crate::sink::{Batch, Sink, SinkError};
use crate::store::{AsyncStore, DeadLetter, Result};

/// How one batch ended for the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivered {
    /// Every sink acknowledged or dead-lettered every event; this many dead letters.
    Done { dead_lettered: u64 },
    /// The route was stopped before every sink was done: the batch is not committed.
    Aborted,
}

/// What the sinks of one route share for a delivery.
pub(super) struct Deliverer<'a> {
    pub route: &'a str,
    pub store: &'a AsyncStore,
    pub abort: &'a CancellationToken,
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl Deliverer<'_> {
    /// Delivers `batch` to every sink concurrently: a sink that retries does not hold
    /// back the others.
    pub async fn to_all(&self, sinks: &[Arc<dyn Sink>], batch: Batch<'_>) -> Result<Delivered> {
        if batch.is_empty() {
            return Ok(Delivered::Done { dead_lettered: 0 });
        }
        let outcomes =
            futures::future::join_all(sinks.iter().map(|sink| self.to_sink(sink.as_ref(), batch)))
                .await;
        let mut dead_lettered = 0;
        for outcome in outcomes {
            match outcome? {
                Delivered::Done { dead_lettered: n } => dead_lettered += n,
                Delivered::Aborted => return Ok(Delivered::Aborted),
            }
        }
        Ok(Delivered::Done { dead_lettered })
    }

    /// Delivers `batch` to one sink: retries what is retryable until it succeeds or the
    /// route is aborted; isolates and dead-letters what fails permanently.
    async fn to_sink(&self, sink: &dyn Sink, batch: Batch<'_>) -> Result<Delivered> {
        let mut backoff = Backoff::new(self.retry_initial, self.retry_max);
        let mut rest = batch;
        loop {
            let result = tokio::select! {
                r = sink.deliver(rest) => r,
                () = self.abort.cancelled() => return Ok(Delivered::Aborted),
            };
            let error = match result {
                Ok(()) => {
                    sent(sink, rest.len());
                    return Ok(Delivered::Done { dead_lettered: 0 });
                }
                Err(e) => e,
            };
            metrics::counter!(m::SINK_ERRORS_TOTAL, "sink" => sink.name().to_owned(), "retryable" => bool_label(error.retryable))
                .increment(1);
            // What the sink acknowledged before failing is not sent again.
            let done = error.delivered.min(rest.len());
            if done > 0 {
                sent(sink, done);
                rest = rest.skip(done);
                backoff.reset();
                if rest.is_empty() {
                    return Ok(Delivered::Done { dead_lettered: 0 });
                }
            }
            if !error.retryable {
                return self.dead_letter_or_split(sink, rest, error).await;
            }
            let delay = error.retry_after.unwrap_or_else(|| backoff.next_delay());
            tracing::warn!(route = %self.route, sink = sink.name(), error = %error, ?delay, "delivery failed; retrying");
            metrics::counter!(m::SINK_RETRIES_TOTAL, "sink" => sink.name().to_owned()).increment(1);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.abort.cancelled() => return Ok(Delivered::Aborted),
            }
        }
    }

    /// A permanent failure of a batch: deliver its events one by one so that only the
    /// ones the sink refuses are dead-lettered.
    async fn dead_letter_or_split(
        &self,
        sink: &dyn Sink,
        batch: Batch<'_>,
        error: SinkError,
    ) -> Result<Delivered> {
        if let [only] = batch.events() {
            let letter = DeadLetter {
                id: 0,
                route: self.route.to_owned(),
                sink: sink.name().to_owned(),
                seq: only.seq,
                error: error.message,
                at: jiff::Timestamp::now(),
                event: only.event.clone(),
            };
            tracing::error!(route = %self.route, sink = sink.name(), seq = only.seq, error = %letter.error, "delivery failed for good; dead-lettered");
            self.store.dead_letter(letter).await?;
            crate::store::telemetry::record_dead_letter_added(self.route);
            metrics::counter!(m::SINK_DEAD_LETTER_TOTAL, "sink" => sink.name().to_owned())
                .increment(1);
            return Ok(Delivered::Done { dead_lettered: 1 });
        }
        let mut dead_lettered = 0;
        for i in 0..batch.len() {
            match Box::pin(self.to_sink(sink, batch.one(i))).await? {
                Delivered::Done { dead_lettered: n } => dead_lettered += n,
                Delivered::Aborted => return Ok(Delivered::Aborted),
            }
        }
        Ok(Delivered::Done { dead_lettered })
    }
}

fn sent(sink: &dyn Sink, n: usize) {
    metrics::counter!(m::SINK_SENT_TOTAL, "sink" => sink.name().to_owned()).increment(n as u64);
}

fn bool_label(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
