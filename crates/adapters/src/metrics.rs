//! A KYC provider decorator that records each call's latency and outcome in Prometheus.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ports::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, ProviderKycState};
use prometheus::{HistogramOpts, HistogramVec, Registry};

/// Wraps a provider; `kyc_provider_request_duration_seconds{provider,outcome}` counts and
/// times every call (`outcome`: `ok`, `rejected`, `timeout`, `unavailable`).
pub struct MeteredKycProvider {
    inner: Arc<dyn KycProvider>,
    duration: HistogramVec,
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
        Ok(Self { inner, duration })
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
        let outcome = match &result {
            Ok(_) => "ok",
            Err(KycProviderError::Rejected { .. }) => "rejected",
            Err(KycProviderError::Timeout) => "timeout",
            Err(KycProviderError::Unavailable(_)) => "unavailable",
        };
        self.duration
            .with_label_values(&[self.inner.name(), outcome])
            .observe(started.elapsed().as_secs_f64());
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
