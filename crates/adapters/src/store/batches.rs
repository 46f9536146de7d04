//! Reads batched the way a busy database batches its commits: a read that finds another
//! one of its kind waiting for a connection goes with it, in the same statement (or, for
//! reads one statement cannot combine, on the same connection), and reads asking exactly
//! the same question share one answer.
//!
//! Nothing waits on a timer. A read that finds no batch forming starts one, and a task on
//! the blocking thread pool for it, at once, as an unbatched read would; every read that
//! arrives while that task waits for a thread and a connection joins the batch; once the
//! task has its connection it takes the whole batch, and the next read starts a new one.
//! At light load each read goes alone; under load the database, the pool and the thread
//! hand-offs are paid once per batch instead of once per request.
//!
//! A kind of read may also cap how many of its batches are under way at once
//! ([`Batched::at_most`]): the lookup by id, whose batch is one statement however many ids
//! it holds, keeps to one per two cores, so that its batches grow instead of its statements
//! multiplying. A task that ends with reads waiting and no task on its way for them hands
//! its place to a new task, queued behind whatever else waits for a blocking thread: a
//! kind of read never holds a thread for longer than one batch.
//!
//! A batch holds the reads of at most so many distinct keys (reads of a key already in
//! it always join it); the next batch starts at once with the rest, so that no read waits
//! behind an ever-growing batch.
//!
//! Every read of a batch arrived before its statement started, so each sees every write
//! that had committed when it was asked for: as fresh as a statement of its own.
//!
//! When the pool has no connection for a task within its checkout timeout, the reads that
//! were waiting when the task began fail as unavailable, as an unbatched read would have;
//! the ones that came later go with the next task, with the rest of their own wait. Reads
//! queued in a batch count as callers waiting for a connection (`db_pool_waiting`).
//!
//! Writes go in batches the same way ([`Unique`] keys, so that no two are taken for one):
//! a batch of registrations is one transaction, so that the database pays one commit —
//! one flush of its log — for the whole batch instead of one per registration.
//!
//! A read whose caller went away (the client disconnected) is still made with its batch;
//! its answer is dropped. A task that never runs (the runtime is shutting down) or panics
//! does its bookkeeping when dropped: no read is left waiting for a task that will not
//! come.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use diesel::QueryResult;
use ports::RepositoryError;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{pool, Conn, DbPool};

/// What a read answers: the value for its key, `None` when the store has none.
type Answer<V> = Result<Option<V>, RepositoryError>;

/// Reads one batch's keys (each once) on one connection; a key without a value is left out.
/// For writes, it makes each write and answers it with its outcome.
pub(super) type ReadBatch<K, V> = fn(Conn<'_>, &[K]) -> QueryResult<HashMap<K, V>>;

/// A key equal to no other: for writes, each of which is made and answered on its own
/// (two equal keys would share one answer).
pub(super) struct Unique<T> {
    number: u64,
    item: Arc<T>,
}

impl<T> Unique<T> {
    /// `item`, told apart from every other.
    pub(super) fn new(item: T) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            number: NEXT.fetch_add(1, Ordering::Relaxed),
            item: Arc::new(item),
        }
    }

    /// The item.
    pub(super) fn item(&self) -> &T {
        &self.item
    }
}

impl<T> Clone for Unique<T> {
    fn clone(&self) -> Self {
        Self {
            number: self.number,
            item: Arc::clone(&self.item),
        }
    }
}

impl<T> PartialEq for Unique<T> {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number
    }
}

impl<T> Eq for Unique<T> {}

impl<T> Hash for Unique<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.number.hash(state);
    }
}

/// A read waiting for its batch's task.
struct Waiting<K, V> {
    key: K,
    since: Instant,
    reply: oneshot::Sender<Answer<V>>,
}

/// The reads waiting for a task, and the tasks.
struct Queue<K, V> {
    waiting: Vec<Waiting<K, V>>,
    /// Tasks started and not yet ended.
    tasks: usize,
    /// Tasks started that have not yet taken their batch.
    on_their_way: usize,
}

/// One kind of batched read (or write, with [`Unique`] keys), shared by every clone of a
/// store.
pub(super) struct Batched<K, V> {
    queue: Mutex<Queue<K, V>>,
    read: ReadBatch<K, V>,
    most_tasks: usize,
    most_keys: usize,
}

impl<K, V> Batched<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Batches of reads made by `read`, of at most `most_keys` distinct keys each (the
    /// reads of further keys go with the next batch, which starts at once), as many under
    /// way as blocking threads and pooled connections allow.
    pub(super) fn new(read: ReadBatch<K, V>, most_keys: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                tasks: 0,
                on_their_way: 0,
            }),
            read,
            most_tasks: usize::MAX,
            most_keys: most_keys.max(1),
        }
    }

    /// At most `tasks` batches under way at once (at least one).
    pub(super) fn at_most(mut self, tasks: usize) -> Self {
        self.most_tasks = tasks.max(1);
        self
    }

    /// The value for `key`, read with whatever reads of this kind wait meanwhile.
    pub(super) async fn read(self: &Arc<Self>, pool: &DbPool, key: K) -> Answer<V> {
        let Ok(runtime) = Handle::try_current() else {
            return Err(RepositoryError::Unexpected(anyhow::anyhow!(
                "a read outside the Tokio runtime"
            )));
        };
        let (reply, answer) = oneshot::channel();
        let start_task = {
            let mut queue = self.lock();
            queue.waiting.push(Waiting {
                key,
                since: Instant::now(),
                reply,
            });
            pool::count_waiting(1);
            // A task on its way takes this read along; a task under way at the cap looks
            // for waiting reads when it ends.
            self.claim_task(&mut queue)
        };
        if start_task {
            self.start_task(&runtime, pool);
        }
        answer.await.unwrap_or_else(|_| {
            Err(RepositoryError::Unexpected(anyhow::anyhow!(
                "the read ended without an answer"
            )))
        })
    }

    /// Whether a new task should start for the waiting reads (counted in if so): none is
    /// on its way and the cap allows one more.
    fn claim_task(&self, queue: &mut Queue<K, V>) -> bool {
        let start =
            !queue.waiting.is_empty() && queue.on_their_way == 0 && queue.tasks < self.most_tasks;
        if start {
            queue.tasks += 1;
            queue.on_their_way += 1;
        }
        start
    }

    /// Starts a task already counted in `tasks` and `on_their_way`. Detached: it serves
    /// whichever batch waits when it has a connection, not one caller's.
    fn start_task(self: &Arc<Self>, runtime: &Handle, pool: &DbPool) {
        let task = Task {
            batches: Arc::clone(self),
            pool: pool.clone(),
            runtime: runtime.clone(),
            took: false,
        };
        drop(runtime.spawn_blocking(move || task.serve()));
    }

    fn lock(&self) -> MutexGuard<'_, Queue<K, V>> {
        // Counters and a list, each change made whole under the lock: no panic can
        // leave them half-changed.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The oldest waiting reads of at most `most_keys` distinct keys.
    fn take(&self, queue: &mut Queue<K, V>) -> Vec<Waiting<K, V>> {
        let mut keys = HashSet::new();
        let mut taken = Vec::new();
        let mut left = Vec::new();
        for read in queue.waiting.drain(..) {
            if keys.contains(&read.key) || keys.len() < self.most_keys {
                keys.insert(read.key.clone());
                taken.push(read);
            } else {
                left.push(read);
            }
        }
        queue.waiting = left;
        pool::count_waiting(-i64::try_from(taken.len()).unwrap_or(i64::MAX));
        taken
    }

    /// Reads the batch's keys and answers each read.
    fn answer(&self, batch: Vec<Waiting<K, V>>, pooled: &mut super::Pooled) {
        // How many reads want each key: the last of them takes the value, the others a
        // copy.
        let mut wanted: HashMap<K, usize> = HashMap::with_capacity(batch.len());
        for read in &batch {
            *wanted.entry(read.key.clone()).or_default() += 1;
        }
        let keys: Vec<K> = wanted.keys().cloned().collect();
        let read = catch_unwind(AssertUnwindSafe(|| (self.read)(pooled.conn(), &keys)));
        match read {
            Ok(Ok(mut found)) => {
                for Waiting { key, reply, .. } in batch {
                    let left = wanted.get_mut(&key).map_or(0, |left| {
                        *left -= 1;
                        *left
                    });
                    let value = if left == 0 {
                        found.remove(&key)
                    } else {
                        found.get(&key).cloned()
                    };
                    // A caller that went away dropped its receiver: nothing to do.
                    let _ = reply.send(Ok(value));
                }
            }
            Ok(Err(error)) => {
                let lost = pool::connection_lost(&error);
                if lost {
                    pooled.mark_broken();
                }
                let message = format!("the database failed the batch: {error}");
                let failure = if lost {
                    Failure::unavailable(message)
                } else {
                    Failure::unexpected(message)
                };
                answer_all(batch, &failure);
            }
            Err(_) => {
                // The connection's state is unknown after a panic mid-statement.
                pooled.mark_broken();
                answer_all(
                    batch,
                    &Failure::unexpected("a batched read panicked".to_owned()),
                );
            }
        }
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// A task on the blocking thread pool, counted in its kind's `tasks` (and in
/// `on_their_way` until it takes its batch). Dropping it does the bookkeeping of its end
/// however it ends — served, panicked, or never run because the runtime is shutting down.
struct Task<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    batches: Arc<Batched<K, V>>,
    pool: DbPool,
    runtime: Handle,
    took: bool,
}

impl<K, V> Task<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Takes the waiting batch once a connection is at hand, reads it and answers each
    /// read.
    fn serve(mut self) {
        let began = Instant::now();
        // Uncounted: the reads it is for are counted as waiting until it takes them.
        let checkout = self.pool.checkout_uncounted();
        let (batch, more) = {
            let mut queue = self.batches.lock();
            queue.on_their_way -= 1;
            self.took = true;
            let mut batch = self.batches.take(&mut queue);
            if checkout.is_err() {
                // The reads that came after this task began waiting have not waited as
                // long as a checkout may: they go with the next task instead.
                let (failed, young): (Vec<_>, Vec<_>) =
                    batch.into_iter().partition(|read| read.since <= began);
                pool::count_waiting(i64::try_from(young.len()).unwrap_or(0));
                queue.waiting.splice(0..0, young);
                batch = failed;
            }
            // Reads left for want of room in this batch need not wait for it to end.
            (batch, self.batches.claim_task(&mut queue))
        };
        if more {
            self.batches.start_task(&self.runtime, &self.pool);
        }
        if batch.is_empty() {
            return; // another task took them along with its own
        }
        match checkout {
            Ok(mut pooled) => self.batches.answer(batch, &mut pooled),
            Err(e) => answer_all(
                batch,
                &Failure::unavailable(format!("no database connection available: {e}")),
            ),
        }
    }
}

impl<K, V> Drop for Task<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    fn drop(&mut self) {
        let mut queue = self.batches.lock();
        if !self.took {
            // Never run: the runtime is shutting down and no task will run again. The
            // waiting reads fail (their callers see the answer channel closed).
            queue.on_their_way -= 1;
            queue.tasks -= 1;
            if queue.on_their_way == 0 {
                pool::count_waiting(-i64::try_from(queue.waiting.len()).unwrap_or(i64::MAX));
                queue.waiting.clear();
            }
            return;
        }
        // Reads that came while this task was reading and found no task on its way (or
        // none allowed): this task's place goes to a new one.
        let again = !queue.waiting.is_empty() && queue.on_their_way == 0;
        if again {
            queue.on_their_way += 1;
        } else {
            queue.tasks -= 1;
        }
        drop(queue);
        if again {
            self.batches.start_task(&self.runtime, &self.pool);
        }
    }
}

/// Tells every read of `batch` that it failed.
fn answer_all<K, V>(batch: Vec<Waiting<K, V>>, failure: &Failure) {
    for read in batch {
        let _ = read.reply.send(Err(failure.share()));
    }
}

/// A batch's failure, told to each of its reads.
struct Failure {
    unavailable: bool,
    message: String,
}

impl Failure {
    fn unavailable(message: String) -> Self {
        Self {
            unavailable: true,
            message,
        }
    }

    fn unexpected(message: String) -> Self {
        Self {
            unavailable: false,
            message,
        }
    }

    fn share(&self) -> RepositoryError {
        let error = anyhow::Error::msg(self.message.clone());
        if self.unavailable {
            RepositoryError::Unavailable(error)
        } else {
            RepositoryError::Unexpected(error)
        }
    }
}

#[cfg(test)]
mod tests;
