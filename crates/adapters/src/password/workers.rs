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
    /// most one job per worker is ever queued or running. The permit goes with the job and
    /// is given back when the job ends, not when its caller does: a caller dropped (its
    /// client went away) must not let another job in while its own is still to run.
    free: Arc<Semaphore>,
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
            free: Arc::new(Semaphore::new(count)),
        })
    }

    /// Runs `f` on a worker with its buffer, waiting for a free worker first.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = Arc::clone(&self.free).acquire_owned().await?;
        let (done, result) = oneshot::channel();
        // Also dropped, and so given back, if the job panics or is never run.
        self.submit(Box::new(move |blocks| {
            let answer = f(blocks);
            drop(permit);
            let _ = done.send(answer);
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

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::task::{Context, Waker};
    use std::time::Duration;

    use super::*;

    /// Polls `future` once and drops it, as actix does with a request whose client goes
    /// away; true if it was still waiting.
    fn poll_once_then_drop(future: impl Future) -> bool {
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        future.as_mut().poll(&mut cx).is_pending()
    }

    #[tokio::test]
    async fn callers_that_go_away_do_not_queue_more_jobs_than_there_are_workers() {
        let workers = Workers::start(1).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let (started, running) = mpsc::channel();
        let (finish, held) = mpsc::channel::<()>();

        // A caller whose job occupies the only worker, then goes away.
        let first = {
            let ran = Arc::clone(&ran);
            workers.run(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                started.send(()).unwrap();
                let _ = held.recv();
            })
        };
        assert!(poll_once_then_drop(first));
        running.recv_timeout(Duration::from_secs(5)).unwrap();

        // Callers that each go away as soon as they have been polled once.
        for _ in 0..10 {
            let ran = Arc::clone(&ran);
            let call = workers.run(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
            });
            assert!(poll_once_then_drop(call));
        }

        // Once the first job ends, a caller that waits is served after every job queued
        // before it (one worker, first come first served).
        finish.send(()).unwrap();
        let last = Arc::clone(&ran);
        workers
            .run(move |_| {
                last.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            2,
            "jobs of callers that went away were queued and run"
        );
    }
}
