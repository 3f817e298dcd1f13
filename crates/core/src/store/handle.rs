//! [`AsyncStore`]: the [`Store`] for async code. The embedded databases do file IO, so
//! every call runs on tokio's blocking pool; this is the one place that spawns those
//! tasks and turns a task that panicked into a [`StoreError::Task`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use jiff::Timestamp;

use super::{
    AppendOutcome, Checkpoint, CompactOutcome, DeadLetter, Query, Result, Retention, Store,
    StoreError, StoreOp, StoreStats, StoredEvent,
};
use crate::event::Event;

/// A shared [`Store`] whose calls are futures. Cheap to clone.
///
/// ```
/// use kev_core::store::AsyncStore;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = AsyncStore::new(std::sync::Arc::new(kev_core::MemoryStore::new()));
/// let event = kev_core::Event { uid: "u1".into(), resource_version: "1".into(), ..Default::default() };
/// store.append(vec![event], None).await.unwrap();
/// assert_eq!(store.last_seq().await.unwrap(), 1);
/// assert_eq!(store.read_log(1, 10).await.unwrap().len(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AsyncStore {
    store: Arc<dyn Store>,
}

impl AsyncStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store itself, for code that is already on a blocking thread.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `f` on the blocking pool, starting now: several store calls in one task, or
    /// a call the methods below do not cover (`Summary::of_query`, a gate's `admit`).
    /// `op` names the operation if the task fails.
    pub fn run<T, F>(&self, op: StoreOp, f: F) -> StoreTask<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        StoreTask {
            op,
            task: tokio::task::spawn_blocking(move || f(store.as_ref())),
        }
    }

    /// [`Store::append_owned`].
    pub fn append(
        &self,
        batch: Vec<Event>,
        checkpoint: Option<Checkpoint>,
    ) -> StoreTask<AppendOutcome> {
        self.run(StoreOp::Append, move |s| {
            s.append_owned(batch, checkpoint.as_ref())
        })
    }

    /// [`Store::checkpoint`].
    pub fn checkpoint(&self, source: impl Into<String>) -> StoreTask<Option<Checkpoint>> {
        let source = source.into();
        self.run(StoreOp::Read, move |s| s.checkpoint(&source))
    }

    /// [`Store::read_log`].
    pub fn read_log(&self, from: u64, limit: usize) -> StoreTask<Vec<StoredEvent>> {
        self.run(StoreOp::Read, move |s| s.read_log(from, limit))
    }

    /// [`Store::last_seq`].
    pub fn last_seq(&self) -> StoreTask<u64> {
        self.run(StoreOp::Read, |s| s.last_seq())
    }

    /// [`Store::cursor`].
    pub fn cursor(&self, route: impl Into<String>) -> StoreTask<u64> {
        let route = route.into();
        self.run(StoreOp::Read, move |s| s.cursor(&route))
    }

    /// [`Store::commit_cursor`].
    pub fn commit_cursor(&self, route: impl Into<String>, seq: u64) -> StoreTask<()> {
        let route = route.into();
        self.run(StoreOp::Commit, move |s| s.commit_cursor(&route, seq))
    }

    /// [`Store::cursors`].
    pub fn cursors(&self) -> StoreTask<Vec<(String, u64)>> {
        self.run(StoreOp::Read, |s| s.cursors())
    }

    /// [`Store::query`].
    pub fn query(&self, query: Query) -> StoreTask<Vec<StoredEvent>> {
        self.run(StoreOp::Read, move |s| s.query(&query))
    }

    /// [`Store::query_each`] folding into `acc`: `visit` sees each result on the
    /// blocking thread (until it returns `false`) and `acc` comes back with what it
    /// gathered, so an aggregate (`kev stats`) never holds all the results.
    pub fn query_each<A, V>(&self, query: Query, mut acc: A, mut visit: V) -> StoreTask<A>
    where
        A: Send + 'static,
        V: FnMut(&mut A, StoredEvent) -> bool + Send + 'static,
    {
        self.run(StoreOp::Read, move |s| {
            s.query_each(&query, &mut |e| visit(&mut acc, e))?;
            Ok(acc)
        })
    }

    /// [`Store::compact`].
    pub fn compact(
        &self,
        retention: Retention,
        now: Timestamp,
        max_remove: u64,
    ) -> StoreTask<CompactOutcome> {
        self.run(StoreOp::Compact, move |s| {
            s.compact(&retention, now, max_remove)
        })
    }

    /// [`Store::stats`].
    pub fn stats(&self) -> StoreTask<StoreStats> {
        self.run(StoreOp::Read, |s| s.stats())
    }

    /// [`Store::dead_letter`].
    pub fn dead_letter(&self, letter: DeadLetter) -> StoreTask<()> {
        self.run(StoreOp::Write, move |s| s.dead_letter(&letter))
    }

    /// [`Store::dead_letters`].
    pub fn dead_letters(&self, route: Option<String>, limit: usize) -> StoreTask<Vec<DeadLetter>> {
        self.run(StoreOp::Read, move |s| {
            s.dead_letters(route.as_deref(), limit)
        })
    }

    /// [`Store::remove_dead_letters`].
    pub fn remove_dead_letters(&self, ids: Vec<u64>) -> StoreTask<Vec<DeadLetter>> {
        self.run(StoreOp::Write, move |s| s.remove_dead_letters(&ids))
    }

    /// [`Store::update_dead_letter`].
    pub fn update_dead_letter(&self, letter: DeadLetter) -> StoreTask<bool> {
        self.run(StoreOp::Write, move |s| s.update_dead_letter(&letter))
    }

    /// [`Store::get_state`].
    pub fn get_state(
        &self,
        namespace: impl Into<String>,
        key: impl Into<String>,
    ) -> StoreTask<Option<Vec<u8>>> {
        let (namespace, key) = (namespace.into(), key.into());
        self.run(StoreOp::Read, move |s| s.get_state(&namespace, &key))
    }

    /// [`Store::put_state`].
    pub fn put_state(
        &self,
        namespace: impl Into<String>,
        key: impl Into<String>,
        value: Vec<u8>,
    ) -> StoreTask<()> {
        let (namespace, key) = (namespace.into(), key.into());
        self.run(StoreOp::Write, move |s| {
            s.put_state(&namespace, &key, &value)
        })
    }
}

impl From<Arc<dyn Store>> for AsyncStore {
    fn from(store: Arc<dyn Store>) -> Self {
        Self::new(store)
    }
}

/// A store call running on the blocking pool; await it for the result. It runs to the
/// end even if dropped (a blocking task cannot be stopped), so a write is never cut.
#[derive(Debug)]
#[must_use = "await the task for its result"]
pub struct StoreTask<T> {
    op: StoreOp,
    task: tokio::task::JoinHandle<Result<T>>,
}

impl<T> Future for StoreTask<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let op = self.op;
        Pin::new(&mut self.task)
            .poll(cx)
            .map(|joined| joined.unwrap_or_else(|source| Err(StoreError::Task { op, source })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn a_task_that_panics_is_a_task_error_of_its_operation() {
        let store = AsyncStore::new(Arc::new(MemoryStore::new()));
        let err = store
            .run(StoreOp::Compact, |_| -> Result<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Task {
                    op: StoreOp::Compact,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.op(), Some(StoreOp::Compact));
        assert!(
            err.to_string().starts_with("store compaction task failed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn query_each_folds_until_the_visitor_stops() {
        let store = AsyncStore::new(Arc::new(MemoryStore::new()));
        let events = (1..=3)
            .map(|i| Event {
                uid: format!("u{i}"),
                resource_version: "1".into(),
                ..Default::default()
            })
            .collect();
        store.append(events, None).await.unwrap();
        let all = store
            .query_each(Query::default(), Vec::new(), |seqs, e| {
                seqs.push(e.seq);
                true
            })
            .await
            .unwrap();
        assert_eq!(all, [3, 2, 1], "newest first, the default order");
        let two = store
            .query_each(Query::default(), 0u32, |n, _| {
                *n += 1;
                *n < 2
            })
            .await
            .unwrap();
        assert_eq!(two, 2);
    }
}
