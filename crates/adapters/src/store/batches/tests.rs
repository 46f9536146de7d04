//! The batching engine, with reads that need a connection but never touch the database.

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

/// Waits until `count` reads are queued (their task waits for a connection).
async fn queued<K, V>(batched: &Batched<K, V>, count: usize)
where
    K: Clone + Eq + std::hash::Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    while batched.waiting() < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
    let batched = Arc::new(Batched::new(one_batch, 64));
    let held = pool.checkout().unwrap();
    let reads = start(&batched, &pool, &[1, 2, 3, 4, 4, 2]);
    queued(&batched, 6).await;
    assert!(ONE_BATCH.lock().unwrap().is_empty(), "no connection yet");
    drop(held);
    let values = values(reads).await;
    assert_eq!(values, [None, Some(4), None, Some(8), Some(8), Some(4)]);
    // Each key read once, in one batch.
    assert_eq!(*ONE_BATCH.lock().unwrap(), vec![vec![1, 2, 3, 4]]);
    remove(path);
}

static WRITTEN: StdMutex<Vec<Vec<u32>>> = StdMutex::new(Vec::new());

/// Writes each item, answering each with its place in the batch.
fn write_each(_: Conn<'_>, writes: &[Unique<u32>]) -> QueryResult<HashMap<Unique<u32>, usize>> {
    let items: Vec<u32> = writes.iter().map(|write| *write.item()).collect();
    WRITTEN.lock().unwrap().push(sorted(&items));
    Ok(writes
        .iter()
        .enumerate()
        .map(|(place, write)| (write.clone(), place))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_of_equal_items_go_in_one_batch_each_made_and_answered_on_its_own() {
    let (pool, path) = pool(1, 5_000);
    let batched = Arc::new(Batched::new(write_each, 64));
    let held = pool.checkout().unwrap();
    let writes: Vec<_> = [7, 7, 8, 7]
        .into_iter()
        .map(|item| {
            let (batched, pool) = (Arc::clone(&batched), pool.clone());
            tokio::spawn(async move { batched.read(&pool, Unique::new(item)).await })
        })
        .collect();
    queued(&batched, 4).await;
    drop(held);
    let mut places = Vec::new();
    for write in writes {
        places.push(write.await.unwrap().unwrap().unwrap());
    }
    places.sort_unstable();
    assert_eq!(places, [0, 1, 2, 3], "one answer each");
    assert_eq!(*WRITTEN.lock().unwrap(), vec![vec![7, 7, 7, 8]]);
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
async fn slow_then_three(
    batched: &Arc<Batched<u32, u32>>,
    pool: &DbPool,
    log: &StdMutex<Vec<String>>,
) {
    let slow = start(batched, pool, &[0]);
    while !log.lock().unwrap().iter().any(|e| e == "start [0]") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rest = start(batched, pool, &[1, 2, 3]);
    assert_eq!(values(slow).await, [Some(0)]);
    assert_eq!(values(rest).await, [None, Some(4), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_capped_at_one_batch_makes_later_reads_wait_for_it_then_go_together() {
    let (pool, path) = pool(2, 5_000);
    let batched = Arc::new(Batched::new(capped, 64).at_most(1));
    slow_then_three(&batched, &pool, &CAPPED).await;
    assert_eq!(
        *CAPPED.lock().unwrap(),
        ["start [0]", "end [0]", "start [1, 2, 3]", "end [1, 2, 3]"]
    );
    // Without the cap, the later reads take the pool's second connection at once.
    let batched = Arc::new(Batched::new(uncapped, 64));
    slow_then_three(&batched, &pool, &UNCAPPED).await;
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
    let batched = Arc::new(Batched::new(never_called, 64));
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
    let batched = Arc::new(Batched::new(doubles, 64));
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
    let batched = Arc::new(Batched::new(panics_on_13, 64).at_most(1));
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
    let batched = Arc::new(Batched::new(doubles, 64));
    let held = pool.checkout().unwrap();
    let gone = start(&batched, &pool, &[2]);
    queued(&batched, 1).await;
    let staying = start(&batched, &pool, &[4, 6]);
    queued(&batched, 3).await;
    for read in gone {
        read.abort();
    }
    drop(held);
    assert_eq!(values(staying).await, [Some(8), Some(12)]);
    remove(path);
}

static TWO_KEYS: StdMutex<Vec<Vec<u32>>> = StdMutex::new(Vec::new());

fn two_keys(_: Conn<'_>, keys: &[u32]) -> QueryResult<HashMap<u32, u32>> {
    TWO_KEYS.lock().unwrap().push(sorted(keys));
    Ok(doubled(keys))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_takes_at_most_its_number_of_keys_and_the_rest_go_next() {
    let (pool, path) = pool(1, 5_000);
    let batched = Arc::new(Batched::new(two_keys, 2));
    let held = pool.checkout().unwrap();
    let mut reads = Vec::new();
    for (n, key) in [1, 2, 1, 3, 4, 2, 5].into_iter().enumerate() {
        reads.extend(start(&batched, &pool, &[key]));
        queued(&batched, n + 1).await; // in this order
    }
    drop(held);
    let values = values(reads).await;
    assert_eq!(values, [None, Some(4), None, None, Some(8), Some(4), None]);
    // The oldest first; every read of a key taken goes with it.
    assert_eq!(
        *TWO_KEYS.lock().unwrap(),
        vec![vec![1, 2], vec![3, 4], vec![5]]
    );
    remove(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_checkout_times_out_only_the_reads_that_waited_for_it_all_along_fail() {
    let (pool, path) = pool(1, 400);
    let batched = Arc::new(Batched::new(doubles, 64));
    let held = pool.checkout().unwrap();
    let old = start(&batched, &pool, &[2]);
    queued(&batched, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Half-way through the first task's wait.
    let young = start(&batched, &pool, &[4]);
    queued(&batched, 2).await;
    for read in old {
        let answer = read.await.unwrap();
        assert!(
            matches!(answer, Err(RepositoryError::Unavailable(_))),
            "{answer:?}"
        );
    }
    // The young read waits for a task of its own, which gets the connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(held);
    assert_eq!(values(young).await, [Some(8)]);
    remove(path);
}
