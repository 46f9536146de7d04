//! The transactional outbox: every message the service owes someone (a KYC mail, a webhook
//! delivery) is a job written in the same transaction as the change that calls for it, and
//! one engine ([`OutboxWorker`]) claims due jobs with a lease, hands each to the handler of
//! its kind, and records the outcome with retries on a schedule. A crashed worker's jobs
//! come back when their lease ends, so nothing is lost; several instances share the work.

mod schedule;
mod worker;

pub use schedule::{RetryPolicy, RetrySchedule};
#[cfg(any(test, feature = "mock"))]
pub use worker::MockJobHandler;
pub use worker::{Attempted, JobHandler, OutboxWorker, WorkerSettings};

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{CustomerId, EndpointId, EventId, KycMailStatus};
use uuid::Uuid;

use crate::{NewEvent, OutboxBacklog, RepositoryError};

/// The kinds of job; each has its own worker, concurrency and retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Send a customer the KYC mail.
    KycMail,
    /// Deliver an event to a webhook endpoint.
    Webhook,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [Self; 2] = [Self::KycMail, Self::Webhook];

    /// The store's and the metrics' spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::KycMail => "kyc_mail",
            Self::Webhook => "webhook",
        }
    }
}

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub Uuid);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a job is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobWork {
    /// Send this customer the KYC mail, with this stable `Message-ID`.
    KycMail {
        /// The customer.
        customer_id: CustomerId,
        /// The same on every attempt.
        message_id: String,
    },
    /// Deliver this event to this endpoint.
    Webhook {
        /// The endpoint.
        endpoint_id: EndpointId,
        /// The event.
        event_id: EventId,
    },
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxJob {
    /// Its id.
    pub id: JobId,
    /// Which attempt this is, 1 for the first.
    pub attempt: u32,
    /// What to do.
    pub work: JobWork,
}

/// Which jobs to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Of this kind.
    pub kind: JobKind,
    /// At most this many.
    pub limit: u32,
    /// Reserved for the claimer this long.
    pub lease: Duration,
    /// At most this many leased at once per webhook endpoint, counting other claimers'
    /// (so one slow receiver cannot take every slot).
    pub per_endpoint: Option<u32>,
}

/// How a job's attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Done.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Given up.
    Failed,
}

/// What the engine records of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    /// How it ended.
    pub end: JobEnd,
    /// Why it failed, when it did (kept, bounded; never logged: it may quote personal data).
    pub error: Option<String>,
    /// The receiver's HTTP status, for deliveries that got one.
    pub http_status: Option<u16>,
    /// When the attempt ended.
    pub at: DateTime<Utc>,
}

/// What else a job's end changes, decided by its handler and written in the same
/// transaction as the outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// The customer's KYC mail status changes (a change to the customer: its version and
    /// `updated_at` move too).
    pub kyc_mail_status: Option<(CustomerId, KycMailStatus)>,
    /// Events to write (e.g. `customer.kyc_mail.failed`).
    pub events: Vec<NewEvent>,
}

/// The outbox's store.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Claims due jobs (oldest due first): each is leased to this claimer, and its attempt
    /// counted, until the lease ends or the job is finished or released.
    async fn claim(&self, request: &ClaimRequest) -> Result<Vec<OutboxJob>, RepositoryError>;

    /// Records how a job's attempt ended, with its effects, and lifts the lease.
    async fn finish(
        &self,
        job: JobId,
        report: AttemptReport,
        effects: Effects,
    ) -> Result<(), RepositoryError>;

    /// Gives back claimed jobs that were not attempted (their attempt is uncounted).
    async fn release(&self, jobs: Vec<JobId>) -> Result<(), RepositoryError>;

    /// Jobs of `kind` still queued, and the age of the oldest.
    async fn backlog(&self, kind: JobKind) -> Result<OutboxBacklog, RepositoryError>;
}
