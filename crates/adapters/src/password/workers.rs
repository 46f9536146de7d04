//! A few dedicated threads that run argon2, each reusing one working buffer.
//!
//! argon2 needs ~19 MiB of working memory per call (64-byte aligned). Run on tokio's
//! blocking pool, each call allocated it afresh on whichever of up to hundreds of threads
//! picked the task, and glibc kept those aligned chunks per thread: a flood of logins left
//! the process at ~750 MB for good, whatever the concurrency limit. Here each worker thread
//! allocates its buffer once and reuses it for every hash and verification, so memory is
//! bounded by the number of workers, and the workers also bound the CPU argon2 takes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use argon2::Block;
use tokio::sync::{oneshot, Semaphore};

/// Work for a worker: given the worker's buffer.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The worker threads and the queue to them.
pub(super) struct Workers {
    jobs: Mutex<Sender<Job>>,
    /// One permit per worker: a caller waits (asynchronously) for a free worker, so at
    /// most one job per worker is ever queued.
    free: Semaphore,
}

impl Workers {
    /// Starts `count` (at least one) worker threads.
    pub fn start(count: usize) -> std::io::Result<Self> {
        let count = count.max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
            free: Semaphore::new(count),
        })
    }

    /// Runs `f` on a worker with its buffer, waiting for a free worker first.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.free.acquire().await?;
        let (done, result) = oneshot::channel();
        self.submit(Box::new(move |blocks| {
            let _ = done.send(f(blocks));
        }))?;
        result
            .await
            .map_err(|_| anyhow::anyhow!("the password hashing worker failed"))
    }

    /// Runs `f` on a worker and blocks the calling thread until it is done (start-up).
    pub fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = channel();
        self.submit(Box::new(move |blocks| {
            let _ = done.send(f(blocks));
        }))?;
        result
            .recv()
            .map_err(|_| anyhow::anyhow!("the password hashing worker failed"))
    }

    fn submit(&self, job: Job) -> anyhow::Result<()> {
        self.jobs
            .lock()
            .map_err(|_| anyhow::anyhow!("the password hashing queue is poisoned"))?
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing workers are gone"))
    }
}

/// A worker's loop: one buffer for its whole life; ends when the queue's sender is
/// dropped (the hasher went away).
fn work(queue: &Mutex<Receiver<Job>>) {
    let mut blocks = Vec::new();
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        // A panicking job loses its answer (its caller gets an error), not the worker.
        if catch_unwind(AssertUnwindSafe(|| job(&mut blocks))).is_err() {
            blocks = Vec::new();
        }
    }
}
