//! Prometheus metrics of the KYC lifecycle, as decorators around its ports (no counting
//! inside the use case): every report by source and outcome, every webhook delivery refused
//! before it became a report, and every poll round.
//!
//! - `kyc_events_total{source, outcome}`: `source` is `webhook`, `poll` or `sandbox`;
//!   `outcome` is `applied`, `unchanged`, `duplicate`, `stale`, `unmatched` or `error` for
//!   reports, and for refused deliveries `invalid_signature`, `stale_event`, `not_json`,
//!   `malformed`, `ignored` or `unknown_value`.
//! - `kyc_sync_rounds_total{result}`: poll rounds, `ok` or `failed` (the store could not
//!   lease customers).
//! - `kyc_sync_customers_total{outcome}`: customers read back, `changed`, `unchanged`,
//!   `provider_error`, `store_error` or `left` (for a later round).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{KycSource, KycState, KycUpdate, ProviderRef};
use ports::{
    ApplyError, ApplyOutcome, EventRejection, KycLifecycle, ProviderEventVerifier, SyncObserver,
    SyncRound,
};
use prometheus::{IntCounterVec, Opts, Registry};

/// The lifecycle's counters, registered once and shared by the decorators.
pub struct KycMetrics {
    events: IntCounterVec,
    rounds: IntCounterVec,
    customers: IntCounterVec,
}

impl KycMetrics {
    /// Registers the counters in `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<Arc<Self>> {
        let events = IntCounterVec::new(
            Opts::new(
                "kyc_events_total",
                "KYC reports and provider event deliveries, by source and outcome",
            ),
            &["source", "outcome"],
        )?;
        let rounds = IntCounterVec::new(
            Opts::new("kyc_sync_rounds_total", "KYC poll rounds, by result"),
            &["result"],
        )?;
        let customers = IntCounterVec::new(
            Opts::new(
                "kyc_sync_customers_total",
                "Customers read back from the KYC provider by polling, by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(rounds.clone()))?;
        registry.register(Box::new(customers.clone()))?;
        Ok(Arc::new(Self {
            events,
            rounds,
            customers,
        }))
    }

    fn event(&self, source: KycSource, outcome: &str) {
        self.events
            .with_label_values(&[source.as_str(), outcome])
            .inc();
    }
}

impl SyncObserver for KycMetrics {
    fn round(&self, round: &SyncRound) {
        self.rounds.with_label_values(&["ok"]).inc();
        for (outcome, n) in [
            ("changed", round.changed),
            ("unchanged", round.unchanged),
            ("provider_error", round.provider_errors),
            ("store_error", round.store_errors),
            ("left", round.left),
        ] {
            self.customers
                .with_label_values(&[outcome])
                .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    fn round_failed(&self) {
        self.rounds.with_label_values(&["failed"]).inc();
    }
}

/// Counts every report's outcome.
pub struct MeteredKycLifecycle {
    inner: Arc<dyn KycLifecycle>,
    metrics: Arc<KycMetrics>,
}

impl MeteredKycLifecycle {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn KycLifecycle>, metrics: Arc<KycMetrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl KycLifecycle for MeteredKycLifecycle {
    async fn apply(&self, provider: &str, update: KycUpdate) -> Result<ApplyOutcome, ApplyError> {
        let source = update.source;
        let result = self.inner.apply(provider, update).await;
        let outcome = match &result {
            Ok(outcome) => outcome.as_str(),
            Err(_) => "error",
        };
        self.metrics.event(source, outcome);
        result
    }

    async fn state_of(
        &self,
        provider: &str,
        target: &ProviderRef,
    ) -> Result<Option<KycState>, ApplyError> {
        self.inner.state_of(provider, target).await
    }
}

/// Counts every delivery refused before it became a report.
pub struct MeteredEventVerifier {
    inner: Arc<dyn ProviderEventVerifier>,
    metrics: Arc<KycMetrics>,
}

impl MeteredEventVerifier {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ProviderEventVerifier>, metrics: Arc<KycMetrics>) -> Self {
        Self { inner, metrics }
    }
}

impl ProviderEventVerifier for MeteredEventVerifier {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<KycUpdate, EventRejection> {
        let result = self.inner.verify(signature, body, now);
        if let Err(rejection) = &result {
            self.metrics.event(KycSource::Webhook, rejection.as_str());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{KycOrder, KycStatus};
    use prometheus::Encoder as _;

    fn exposition(registry: &Registry) -> String {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A lifecycle whose every report has one outcome.
    struct Always(ApplyOutcome);

    #[async_trait]
    impl KycLifecycle for Always {
        async fn apply(&self, _: &str, _: KycUpdate) -> Result<ApplyOutcome, ApplyError> {
            Ok(self.0)
        }
        async fn state_of(&self, _: &str, _: &ProviderRef) -> Result<Option<KycState>, ApplyError> {
            Ok(None)
        }
    }

    /// A verifier refusing everything one way.
    struct Refusing(EventRejection);

    impl ProviderEventVerifier for Refusing {
        fn provider(&self) -> &'static str {
            "bridge"
        }
        fn verify(
            &self,
            _: Option<&str>,
            _: &[u8],
            _: DateTime<Utc>,
        ) -> Result<KycUpdate, EventRejection> {
            Err(self.0.clone())
        }
    }

    fn update(source: KycSource) -> KycUpdate {
        KycUpdate {
            source,
            event_id: None,
            target: ProviderRef::KycLink("l".into()),
            kyc_status: Some(KycStatus::Approved),
            tos_status: None,
            rejection_reasons: None,
            provider_customer_id: None,
            order: KycOrder::at(Utc::now()),
        }
    }

    #[tokio::test]
    async fn reports_refusals_and_rounds_are_counted_by_label() {
        let registry = Registry::new();
        let metrics = KycMetrics::new(&registry).unwrap();
        let applied =
            MeteredKycLifecycle::new(Arc::new(Always(ApplyOutcome::Applied)), metrics.clone());
        applied
            .apply("bridge", update(KycSource::Webhook))
            .await
            .unwrap();
        applied
            .apply("bridge", update(KycSource::Webhook))
            .await
            .unwrap();
        let stale =
            MeteredKycLifecycle::new(Arc::new(Always(ApplyOutcome::Stale)), metrics.clone());
        stale
            .apply("bridge", update(KycSource::Poll))
            .await
            .unwrap();
        let refusing = MeteredEventVerifier::new(
            Arc::new(Refusing(EventRejection::InvalidSignature {
                reason: "mismatch",
            })),
            metrics.clone(),
        );
        assert!(refusing.verify(None, b"", Utc::now()).is_err());
        metrics.round(&SyncRound {
            claimed: 3,
            changed: 1,
            provider_errors: 2,
            ..SyncRound::default()
        });
        metrics.round_failed();
        let text = exposition(&registry);
        for line in [
            r#"kyc_events_total{outcome="applied",source="webhook"} 2"#,
            r#"kyc_events_total{outcome="stale",source="poll"} 1"#,
            r#"kyc_events_total{outcome="invalid_signature",source="webhook"} 1"#,
            r#"kyc_sync_rounds_total{result="ok"} 1"#,
            r#"kyc_sync_rounds_total{result="failed"} 1"#,
            r#"kyc_sync_customers_total{outcome="changed"} 1"#,
            r#"kyc_sync_customers_total{outcome="provider_error"} 2"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
