//! Prometheus decorators around ports: the KYC provider (each call's latency and outcome)
//! and the outbox's job handlers (attempts and ends, by kind and outcome).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ports::{
    Attempted, Effects, IssuedKycLink, JobHandler, JobKind, KycLinkRequest, KycProvider,
    KycProviderError, KycSubmissionRequest, KycSubmitError, OutboxJob, ProviderKycState,
    RepositoryError, SubmissionAccepted, TosLinkRequest,
};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Wraps a provider; `kyc_provider_request_duration_seconds{provider,outcome}` counts and
/// times every KYC link call, and `kyc_provider_operation_duration_seconds{provider,
/// operation,outcome}` every other call (`operation`: `submit_kyc`, `create_tos_link`)
/// (`outcome`: `ok`, `rejected`, `timeout`, `unavailable`).
pub struct MeteredKycProvider {
    inner: Arc<dyn KycProvider>,
    duration: HistogramVec,
    operations: HistogramVec,
}

impl MeteredKycProvider {
    /// Registers the histogram in `registry`.
    pub fn new(inner: Arc<dyn KycProvider>, registry: &Registry) -> prometheus::Result<Self> {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "kyc_provider_request_duration_seconds",
                "Time the KYC provider took to issue a link, by outcome (retries included)",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["provider", "outcome"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        let operations = HistogramVec::new(
            HistogramOpts::new(
                "kyc_provider_operation_duration_seconds",
                "Time the KYC provider took to take a KYC submission or issue a terms-of-service \
                 link, by operation and outcome (retries included)",
            )
            .buckets(vec![
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
            ]),
            &["provider", "operation", "outcome"],
        )?;
        registry.register(Box::new(operations.clone()))?;
        Ok(Self {
            inner,
            duration,
            operations,
        })
    }

    fn observe(&self, operation: &str, outcome: &str, started: Instant) {
        self.operations
            .with_label_values(&[self.inner.name(), operation, outcome])
            .observe(started.elapsed().as_secs_f64());
    }
}

fn link_outcome(error: &KycProviderError) -> &'static str {
    match error {
        KycProviderError::Rejected { .. } => "rejected",
        KycProviderError::Timeout => "timeout",
        KycProviderError::Unavailable(_) => "unavailable",
    }
}

#[async_trait]
impl KycProvider for MeteredKycProvider {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn create_kyc_link(
        &self,
        request: &KycLinkRequest,
    ) -> Result<IssuedKycLink, KycProviderError> {
        let started = Instant::now();
        let result = self.inner.create_kyc_link(request).await;
        let outcome = result.as_ref().err().map_or("ok", link_outcome);
        self.duration
            .with_label_values(&[self.inner.name(), outcome])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    async fn submit_kyc(
        &self,
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, KycSubmitError> {
        let started = Instant::now();
        let result = self.inner.submit_kyc(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(KycSubmitError::Rejected { .. }) => "rejected",
            Err(KycSubmitError::Timeout) => "timeout",
            Err(KycSubmitError::Unavailable(_)) => "unavailable",
        };
        self.observe("submit_kyc", outcome, started);
        result
    }

    async fn create_tos_link(&self, request: &TosLinkRequest) -> Result<String, KycProviderError> {
        let started = Instant::now();
        let result = self.inner.create_tos_link(request).await;
        let outcome = result.as_ref().err().map_or("ok", link_outcome);
        self.observe("create_tos_link", outcome, started);
        result
    }

    // Polls are counted by the sync worker's metrics, per round.
    async fn fetch_kyc_state(
        &self,
        target: &domain::ProviderRef,
    ) -> Result<ProviderKycState, KycProviderError> {
        self.inner.fetch_kyc_state(target).await
    }
}

/// The outbox's counters, registered once and shared by every kind's handler.
#[derive(Clone)]
pub struct OutboxMetrics {
    attempts: IntCounterVec,
    ended: IntCounterVec,
}

impl OutboxMetrics {
    /// Registers `outbox_attempts_total{kind,outcome}` (each attempt: `delivered` or
    /// `failed`) and `outbox_jobs_ended_total{kind,outcome}` (each job's end: `delivered`,
    /// or `failed` once given up) in `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let attempts = IntCounterVec::new(
            Opts::new(
                "outbox_attempts_total",
                "Outbox job attempts (KYC mails, webhook deliveries), by kind and outcome",
            ),
            &["kind", "outcome"],
        )?;
        let ended = IntCounterVec::new(
            Opts::new(
                "outbox_jobs_ended_total",
                "Outbox jobs delivered or given up, by kind and outcome",
            ),
            &["kind", "outcome"],
        )?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(ended.clone()))?;
        Ok(Self { attempts, ended })
    }

    /// `handler`, counted.
    pub fn wrap(&self, handler: Arc<dyn JobHandler>) -> MeteredJobHandler {
        MeteredJobHandler {
            inner: handler,
            metrics: self.clone(),
        }
    }
}

/// A job handler decorator counting attempts and ends in [`OutboxMetrics`].
pub struct MeteredJobHandler {
    inner: Arc<dyn JobHandler>,
    metrics: OutboxMetrics,
}

#[async_trait]
impl JobHandler for MeteredJobHandler {
    fn kind(&self) -> JobKind {
        self.inner.kind()
    }

    async fn attempt(&self, job: &OutboxJob) -> Attempted {
        let attempted = self.inner.attempt(job).await;
        let outcome = match attempted {
            Attempted::Delivered { .. } => "delivered",
            Attempted::Failed { .. } => "failed",
        };
        self.metrics
            .attempts
            .with_label_values(&[self.inner.kind().as_str(), outcome])
            .inc();
        attempted
    }

    async fn on_end(
        &self,
        job: &OutboxJob,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<Effects, RepositoryError> {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.metrics
            .ended
            .with_label_values(&[self.inner.kind().as_str(), outcome])
            .inc();
        self.inner.on_end(job, delivered, at).await
    }
}
