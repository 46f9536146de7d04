//! The outbox engine: one worker per job kind claims due jobs, keeps up to `concurrency`
//! of them in flight through the kind's [`JobHandler`] (a freed slot is filled by the next
//! claim, not at the end of a round), and records each outcome — delivered, retried on the
//! kind's schedule, or given up — with the effects the handler decides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use futures_util::StreamExt as _;
use tracing::Instrument as _;

use super::{
    AttemptReport, ClaimRequest, Effects, JobEnd, JobId, JobKind, Outbox, OutboxJob, RetrySchedule,
};
use crate::RepositoryError;

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// The message was taken.
    Delivered {
        /// The receiver's HTTP status, for deliveries that have one.
        http_status: Option<u16>,
    },
    /// It was not.
    Failed {
        /// A failure no retry can mend (a refused recipient, a job whose customer is gone).
        permanent: bool,
        /// Why (kept with the job, never logged: it may quote personal data).
        error: String,
        /// The receiver's HTTP status, when it answered.
        http_status: Option<u16>,
    },
}

/// Does the work of one kind of job.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind it handles.
    fn kind(&self) -> JobKind;

    /// Makes one attempt.
    async fn attempt(&self, job: &OutboxJob) -> Attempted;

    /// What else changes when the job ends (`delivered`, or given up), at `at`.
    async fn on_end(
        &self,
        job: &OutboxJob,
        delivered: bool,
        at: chrono::DateTime<Utc>,
    ) -> Result<Effects, RepositoryError>;
}

/// A worker's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Jobs claimed per round.
    pub batch_size: u32,
    /// How long a claimed job is reserved. Must exceed the longest attempt: the worker
    /// starts no attempt once half the lease is gone, and gives the rest back.
    pub lease: Duration,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Leased jobs per webhook endpoint at once, across instances.
    pub per_endpoint: Option<u32>,
    /// The retry schedule.
    pub schedule: RetrySchedule,
}

/// Delivers due jobs of one kind.
pub struct OutboxWorker {
    outbox: Arc<dyn Outbox>,
    handler: Arc<dyn JobHandler>,
    settings: WorkerSettings,
}

/// What became of one claimed job in a round.
enum Handled {
    Finished,
    NotStarted(JobId),
}

impl OutboxWorker {
    /// A worker of `handler`'s kind over `outbox`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        handler: Arc<dyn JobHandler>,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            outbox,
            handler,
            settings,
        }
    }

    /// Claims and handles one batch; returns how many jobs were attempted.
    pub async fn run_once(&self) -> Result<usize, RepositoryError> {
        let claimed_at = Instant::now();
        let jobs = self.claim(self.settings.batch_size).await?;
        let results: Vec<Result<Handled, RepositoryError>> = futures_util::stream::iter(jobs)
            .map(|job| self.handle(job, claimed_at))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut attempted = 0;
        let mut not_started = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(Handled::Finished) => attempted += 1,
                Ok(Handled::NotStarted(id)) => not_started.push(id),
                Err(e) => {
                    attempted += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if !not_started.is_empty() {
            tracing::info!(
                kind = self.handler.kind().as_str(),
                left = not_started.len(),
                "half the lease used; giving the rest of the batch back"
            );
            self.outbox.release(not_started).await?;
        }
        first_error.map_or(Ok(attempted), Err)
    }

    async fn handle(
        &self,
        job: OutboxJob,
        claimed_at: Instant,
    ) -> Result<Handled, RepositoryError> {
        // An attempt started this late might still run when the lease ends and another
        // worker claims the job: leave it for the next round instead.
        if claimed_at.elapsed() >= self.settings.lease / 2 {
            return Ok(Handled::NotStarted(job.id));
        }
        let span = tracing::info_span!(
            "outbox.attempt",
            kind = self.handler.kind().as_str(),
            job_id = %job.id,
            attempt = job.attempt
        );
        self.attempt_and_record(job).instrument(span).await
    }

    async fn attempt_and_record(&self, job: OutboxJob) -> Result<Handled, RepositoryError> {
        let kind = self.handler.kind().as_str();
        let attempted = self.handler.attempt(&job).await;
        let at = Utc::now();
        let (report, ended) = match attempted {
            Attempted::Delivered { http_status } => {
                tracing::info!(kind, job_id = %job.id, "outbox job delivered");
                (
                    AttemptReport {
                        end: JobEnd::Delivered,
                        error: None,
                        http_status,
                        at,
                    },
                    Some(true),
                )
            }
            Attempted::Failed {
                permanent,
                error,
                http_status,
            } => {
                let retry = if permanent {
                    None
                } else {
                    self.settings.schedule.after_failed_attempt(job.attempt)
                };
                match retry {
                    Some(delay) => {
                        tracing::warn!(kind, job_id = %job.id, attempt = job.attempt, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "outbox job failed; will retry");
                        let next = at
                            + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX);
                        (
                            AttemptReport {
                                end: JobEnd::RetryAt(next),
                                error: Some(error),
                                http_status,
                                at,
                            },
                            None,
                        )
                    }
                    None => {
                        tracing::warn!(kind, job_id = %job.id, attempt = job.attempt, permanent, "outbox job failed; giving up");
                        (
                            AttemptReport {
                                end: JobEnd::Failed,
                                error: Some(error),
                                http_status,
                                at,
                            },
                            Some(false),
                        )
                    }
                }
            }
        };
        let effects = match ended {
            Some(delivered) => self.handler.on_end(&job, delivered, at).await?,
            None => Effects::default(),
        };
        self.outbox.finish(job.id, report, effects).await?;
        Ok(Handled::Finished)
    }

    /// Claims up to `limit` due jobs of the worker's kind.
    async fn claim(&self, limit: u32) -> Result<Vec<OutboxJob>, RepositoryError> {
        self.outbox
            .claim(&ClaimRequest {
                kind: self.handler.kind(),
                limit,
                lease: self.settings.lease,
                per_endpoint: self.settings.per_endpoint,
            })
            .await
    }

    /// Runs until `shutdown` turns true, keeping up to `concurrency` attempts in flight:
    /// whenever an attempt ends, its slot is filled by a new claim, so one slow attempt
    /// (a receiver that never answers, held for the whole send timeout) delays nothing
    /// but itself — no round waits for its slowest job. With nothing due it polls every
    /// `poll_interval`. On shutdown it claims nothing more and lets the attempts in
    /// flight finish.
    pub async fn run(
        self,
        poll_interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let kind = self.handler.kind().as_str();
        let concurrency = self.settings.concurrency.max(1);
        let this = Arc::new(self);
        let mut in_flight: tokio::task::JoinSet<Result<Handled, RepositoryError>> =
            tokio::task::JoinSet::new();
        tracing::info!(kind, "outbox worker started");
        while !*shutdown.borrow() {
            let free = concurrency.saturating_sub(in_flight.len());
            let mut claimed = 0;
            if free > 0 {
                let limit = this
                    .settings
                    .batch_size
                    .min(u32::try_from(free).unwrap_or(u32::MAX));
                let claimed_at = Instant::now();
                match this.claim(limit).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let worker = Arc::clone(&this);
                            in_flight.spawn(async move { worker.handle(job, claimed_at).await });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(kind, error = %e, "outbox worker could not reach the store");
                    }
                }
            }
            // Claimed a full share and slots are left: claim again at once. Otherwise wait
            // for a slot to free, for new work to fall due, or for the end.
            if claimed == 0 || in_flight.len() >= concurrency {
                let idle = claimed == 0;
                tokio::select! {
                    Some(ended) = in_flight.join_next(), if !in_flight.is_empty() => {
                        this.settle(ended).await;
                    }
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(poll_interval), if idle => {}
                }
            }
            while let Some(ended) = in_flight.try_join_next() {
                this.settle(ended).await;
            }
        }
        while let Some(ended) = in_flight.join_next().await {
            this.settle(ended).await;
        }
        tracing::info!(kind, "outbox worker stopped");
    }

    /// What to do when an attempt of [`run`](Self::run) ended: give back a job it never
    /// started, log a store failure or a panic (the job's lease runs out and it comes back).
    async fn settle(
        &self,
        ended: Result<Result<Handled, RepositoryError>, tokio::task::JoinError>,
    ) {
        let kind = self.handler.kind().as_str();
        match ended {
            Ok(Ok(Handled::Finished)) => {}
            Ok(Ok(Handled::NotStarted(id))) => {
                if let Err(e) = self.outbox.release(vec![id]).await {
                    tracing::warn!(kind, error = %e, "could not give back a job not started");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(kind, error = %e, "outbox worker could not record an attempt");
            }
            Err(e) => {
                tracing::error!(kind, error = %e, "an outbox attempt panicked; its lease will bring the job back");
            }
        }
    }
}

#[cfg(test)]
mod tests;
