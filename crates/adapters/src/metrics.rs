//! A KYC provider decorator that records each call's latency and outcome in Prometheus.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ports::{
    IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, KycSubmissionRequest,
    KycSubmitError, SubmissionAccepted, TosLinkRequest,
};
use prometheus::{HistogramOpts, HistogramVec, Registry};

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
}
