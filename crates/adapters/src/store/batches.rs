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
//! it holds, keeps to a few, so that its batches grow instead of its statements
//! multiplying. A task that ends with reads waiting and no task on its way for them hands
//! its place to a new task, queued behind whatever else waits for a blocking thread: a
//! kind of read never holds a thread for longer than one batch.
//!
//! Every read of a batch arrived before its statement started, so each sees every write
//! that had committed when it was asked for: as fresh as a statement of its own.
//!
//! A read whose caller went away (the client disconnected) is still made with its batch;
//! its answer is dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use diesel::QueryResult;
use ports::RepositoryError;
use tokio::sync::oneshot;

use super::{pool, Conn, DbPool};

/// What a read answers: the value for its key, `None` when the store has none.
type Answer<V> = Result<Option<V>, RepositoryError>;

/// Reads one batch's keys (each once) on one connection; a key without a value is left out.
pub(super) type ReadBatch<K, V> = fn(Conn<'_>, &[K]) -> QueryResult<HashMap<K, V>>;

/// The reads waiting for a task, and the tasks.
struct Queue<K, V> {
    waiting: Vec<(K, oneshot::Sender<Answer<V>>)>,
    /// Tasks started and not yet ended.
    tasks: usize,
    /// Tasks started that have not yet taken their batch.
    on_their_way: usize,
}

/// One kind of batched read, shared by every clone of a store.
pub(super) struct Batched<K, V> {
    queue: Mutex<Queue<K, V>>,
    read: ReadBatch<K, V>,
    most_tasks: usize,
}

impl<K, V> Batched<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Batches of reads made by `read`, as many under way as blocking threads and pooled
    /// connections allow.
    pub(super) fn new(read: ReadBatch<K, V>) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                tasks: 0,
                on_their_way: 0,
            }),
            read,
            most_tasks: usize::MAX,
        }
    }

    /// At most `tasks` batches under way at once (at least one).
    pub(super) fn at_most(mut self, tasks: usize) -> Self {
        self.most_tasks = tasks.max(1);
        self
    }

    /// The value for `key`, read with whatever reads of this kind wait meanwhile.
    pub(super) async fn read(self: &Arc<Self>, pool: &DbPool, key: K) -> Answer<V> {
        let (reply, answer) = oneshot::channel();
        let start_task = {
            let mut queue = self.lock();
            queue.waiting.push((key, reply));
            // A task on its way takes this read along; a task under way at the cap looks
            // for waiting reads when it ends.
            let start = queue.on_their_way == 0 && queue.tasks < self.most_tasks;
            if start {
                queue.tasks += 1;
                queue.on_their_way += 1;
            }
            start
        };
        if start_task {
            self.start_task(pool);
        }
        answer.await.unwrap_or_else(|_| {
            Err(RepositoryError::Unexpected(anyhow::anyhow!(
                "the read ended without an answer"
            )))
        })
    }

    /// Starts a task counted in `tasks` and `on_their_way`. Detached: it serves whichever
    /// batch waits when it has a connection, not one caller's.
    fn start_task(self: &Arc<Self>, pool: &DbPool) {
        let batches = Arc::clone(self);
        let pool = pool.clone();
        drop(tokio::task::spawn_blocking(move || batches.serve(&pool)));
    }

    fn lock(&self) -> MutexGuard<'_, Queue<K, V>> {
        // Counters and a list, each change made whole under the lock: no panic can
        // leave them half-changed.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the waiting batch once a connection is at hand, reads it and answers each
    /// read (on a blocking thread).
    fn serve(self: Arc<Self>, pool: &DbPool) {
        let checkout = pool.checkout();
        let batch = {
            let mut queue = self.lock();
            queue.on_their_way -= 1;
            let batch = std::mem::take(&mut queue.waiting);
            if batch.is_empty() {
                // Another task took them along with its own.
                queue.tasks -= 1;
                return;
            }
            batch
        };
        match checkout {
            Ok(mut pooled) => self.answer(batch, &mut pooled),
            Err(e) => answer_all(
                batch,
                &Failure::unavailable(format!("no database connection available: {e}")),
            ),
        }
        let again = {
            let mut queue = self.lock();
            let again = !queue.waiting.is_empty() && queue.on_their_way == 0;
            if again {
                queue.on_their_way += 1;
            } else {
                queue.tasks -= 1;
            }
            again
        };
        if again {
            self.start_task(pool);
        }
    }

    /// Reads the batch's keys and answers each read.
    fn answer(&self, batch: Vec<(K, oneshot::Sender<Answer<V>>)>, pooled: &mut super::Pooled) {
        // How many reads want each key: the last of them takes the value, the others a
        // copy.
        let mut wanted: HashMap<K, usize> = HashMap::with_capacity(batch.len());
        for (key, _) in &batch {
            *wanted.entry(key.clone()).or_default() += 1;
        }
        let keys: Vec<K> = wanted.keys().cloned().collect();
        let read = catch_unwind(AssertUnwindSafe(|| (self.read)(pooled.conn(), &keys)));
        match read {
            Ok(Ok(mut found)) => {
                for (key, reply) in batch {
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
                let message = format!("could not read from the database: {error}");
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
}

/// Tells every read of `batch` that it failed.
fn answer_all<K, V>(batch: Vec<(K, oneshot::Sender<Answer<V>>)>, failure: &Failure) {
    for (_, reply) in batch {
        let _ = reply.send(Err(failure.share()));
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
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex as StdMutex;
    use std::time::Duration;

    use super::*;
    use crate::store::PoolSettings;

    /// A pool of `connections` to a new SQLite file; a checkout gives up after
    /// `timeout_ms`. The reads below never touch the database: they need a connection only.
    fn pool(connections: u32, timeout_ms: u64) -> (DbPool, PathBuf) {
        let path = std::env::temp_dir().join(format!("batches-{}.sqlite", uuid::Uuid::new_v4()));
        let settings = PoolSettings {
            max_size: connections,
            connection_timeout: Duration::from_millis(timeout_ms),
        };
        let pool = crate::store::sqlite::connect(&path, &settings).unwrap();
        (DbPool::Sqlite(pool), path)
    }

    fn remove(path: PathBuf) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// Starts reads of `keys`, each in a task of its own.
    fn start(
        batched: &Arc<Batched<u32, u32>>,
        pool: &DbPool,
        keys: &[u32],
    ) -> Vec<tokio::task::JoinHandle<Answer<u32>>> {
        keys.iter()
            .map(|&key| {
                let (batched, pool) = (Arc::clone(batched), pool.clone());
                tokio::spawn(async move { batched.read(&pool, key).await })
            })
            .collect()
    }

    async fn values(reads: Vec<tokio::task::JoinHandle<Answer<u32>>>) -> Vec<Option<u32>> {
        let mut values = Vec::new();
        for read in reads {
            values.push(read.await.unwrap().unwrap());
        }
        values
    }

    /// Even keys have a value, twice the key.
    fn doubled(keys: &[u32]) -> HashMap<u32, u32> {
        keys.iter()
            .filter(|&&key| key % 2 == 0)
            .map(|&key| (key, key * 2))
            .collect()
    }

    fn sorted(keys: &[u32]) -> Vec<u32> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys
    }

    static ONE_BATCH: StdMutex<Vec<Vec<u32>>> = StdMutex::new(Vec::new());

    fn one_batch(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        ONE_BATCH.lock().unwrap().push(sorted(keys));
        Ok(doubled(keys))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_waiting_for_the_connection_go_in_one_batch_and_share_answers() {
        let (pool, path) = pool(1, 5_000);
        let batched = Arc::new(Batched::new(one_batch));
        let held = pool.checkout().unwrap();
        let reads = start(&batched, &pool, &[1, 2, 3, 4, 4, 2]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(ONE_BATCH.lock().unwrap().is_empty(), "no connection yet");
        drop(held);
        let values = values(reads).await;
        assert_eq!(values, [None, Some(4), None, Some(8), Some(8), Some(4)]);
        // Each key read once, in one batch.
        assert_eq!(*ONE_BATCH.lock().unwrap(), vec![vec![1, 2, 3, 4]]);
        remove(path);
    }

    static CAPPED: StdMutex<Vec<String>> = StdMutex::new(Vec::new());
    static UNCAPPED: StdMutex<Vec<String>> = StdMutex::new(Vec::new());

    fn slow_first(log: &StdMutex<Vec<String>>, keys: &[u32]) -> HashMap<u32, u32> {
        log.lock()
            .unwrap()
            .push(format!("start {:?}", sorted(keys)));
        if keys.contains(&0) {
            std::thread::sleep(Duration::from_millis(300));
        }
        log.lock().unwrap().push(format!("end {:?}", sorted(keys)));
        doubled(keys)
    }

    fn capped(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        Ok(slow_first(&CAPPED, keys))
    }

    fn uncapped(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        Ok(slow_first(&UNCAPPED, keys))
    }

    /// Read 0 (slow), then, while it is at the database, reads 1, 2 and 3.
    async fn slow_then_three(batched: &Arc<Batched<u32, u32>>, pool: &DbPool) {
        let slow = start(batched, pool, &[0]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rest = start(batched, pool, &[1, 2, 3]);
        assert_eq!(values(slow).await, [Some(0)]);
        assert_eq!(values(rest).await, [None, Some(4), None]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kind_capped_at_one_batch_makes_later_reads_wait_for_it_then_go_together() {
        let (pool, path) = pool(2, 5_000);
        let batched = Arc::new(Batched::new(capped).at_most(1));
        slow_then_three(&batched, &pool).await;
        assert_eq!(
            *CAPPED.lock().unwrap(),
            ["start [0]", "end [0]", "start [1, 2, 3]", "end [1, 2, 3]"]
        );
        // Without the cap, the later reads take the pool's second connection at once.
        let batched = Arc::new(Batched::new(uncapped));
        slow_then_three(&batched, &pool).await;
        let log = UNCAPPED.lock().unwrap();
        let slow_ended = log.iter().position(|e| e == "end [0]").unwrap();
        let next_started = log.iter().position(|e| e.starts_with("start [1")).unwrap();
        assert!(next_started < slow_ended, "{log:?}");
        remove(path);
    }

    fn never_called(_: Conn<'_>, _: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        panic!("a batch without a connection was read")
    }

    fn doubles(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        Ok(doubled(keys))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_gets_no_connection_fails_each_read_as_unavailable() {
        let (pool, path) = pool(1, 200);
        let batched = Arc::new(Batched::new(never_called));
        let held = pool.checkout().unwrap();
        for read in start(&batched, &pool, &[1, 2]) {
            let answer = read.await.unwrap();
            assert!(
                matches!(answer, Err(RepositoryError::Unavailable(_))),
                "{answer:?}"
            );
        }
        drop(held);
        // The next batch gets the connection.
        let batched = Arc::new(Batched::new(doubles));
        assert_eq!(batched.read(&pool, 2).await.unwrap(), Some(4));
        remove(path);
    }

    fn panics_on_13(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
        assert!(!keys.contains(&13), "thirteen");
        Ok(doubled(keys))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_panics_fails_its_batch_and_the_next_batches_are_read() {
        let (pool, path) = pool(1, 5_000);
        let batched = Arc::new(Batched::new(panics_on_13).at_most(1));
        let answer = batched.read(&pool, 13).await;
        assert!(
            matches!(answer, Err(RepositoryError::Unexpected(_))),
            "{answer:?}"
        );
        assert_eq!(batched.read(&pool, 2).await.unwrap(), Some(4));
        assert_eq!(
            values(start(&batched, &pool, &[4, 5])).await,
            [Some(8), None]
        );
        remove(path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_goes_away_leaves_the_rest_of_its_batch_answered() {
        let (pool, path) = pool(1, 5_000);
        let batched = Arc::new(Batched::new(doubles));
        let held = pool.checkout().unwrap();
        let gone = start(&batched, &pool, &[2]);
        let staying = start(&batched, &pool, &[4, 6]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        for read in gone {
            read.abort();
        }
        drop(held);
        assert_eq!(values(staying).await, [Some(8), Some(12)]);
        remove(path);
    }
}
