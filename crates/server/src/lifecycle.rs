//! The KYC lifecycle's wiring: the use case every report goes through (metered), its read
//! side, Bridge's webhook verifier when a key is configured, and its workers — the poller
//! and the retention of event receipts.

use std::sync::Arc;
use std::time::Duration;

use adapters::bridge::BridgeWebhookVerifier;
use adapters::kyc_metrics::{KycMetrics, MeteredEventVerifier, MeteredKycLifecycle};
use ports::{
    CustomerRepository, Events, KycLifecycle, KycLifecycleService, KycProvider, KycReports,
    KycSyncQueue, KycSyncWorker, ProviderEventVerifier, ReadKyc, ReceiptRetention,
};

use crate::config::LifecycleSettings;

/// The KYC lifecycle, wired: the use case (metered) that every report goes through, its
/// read side, and Bridge's webhook verifier when a key is configured.
pub(crate) struct Lifecycle {
    /// Every report's path, metered.
    pub apply: Arc<dyn KycLifecycle>,
    /// `GET /customer/{id}/kyc`.
    pub read: Arc<dyn ReadKyc>,
    /// Bridge's webhook verifier (metered), when a key is configured.
    pub verifier: Option<Arc<dyn ProviderEventVerifier>>,
    metrics: Arc<KycMetrics>,
    reports: Arc<dyn KycReports>,
    sync: Arc<dyn KycSyncQueue>,
}

impl Lifecycle {
    /// The lifecycle over the store's ports, its metrics registered in `registry`.
    pub fn build(
        reports: Arc<dyn KycReports>,
        sync: Arc<dyn KycSyncQueue>,
        customers: Arc<dyn CustomerRepository>,
        events: Events,
        verifier: Option<BridgeWebhookVerifier>,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Self> {
        let metrics = KycMetrics::new(registry)?;
        let service = Arc::new(KycLifecycleService::new(reports.clone(), customers, events));
        match &verifier {
            Some(v) => tracing::info!(
                keys = v.key_count(),
                "Bridge webhooks are on at POST /webhooks/bridge"
            ),
            None => tracing::info!(
                "Bridge webhooks are off (set BRIDGE_WEBHOOK_PUBLIC_KEY or BRIDGE_WEBHOOK_PUBLIC_KEY_FILE to receive them)"
            ),
        }
        Ok(Self {
            apply: Arc::new(MeteredKycLifecycle::new(service.clone(), metrics.clone())),
            read: service,
            verifier: verifier.map(|v| {
                Arc::new(MeteredEventVerifier::new(Arc::new(v), metrics.clone()))
                    as Arc<dyn ProviderEventVerifier>
            }),
            metrics,
            reports,
            sync,
        })
    }

    /// Starts the poller (unless KYC_SYNC_INTERVAL_SECONDS=0) and the receipt retention.
    pub fn spawn_workers(
        &self,
        settings: &LifecycleSettings,
        provider: Arc<dyn KycProvider>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let retention = ReceiptRetention::new(
            self.reports.clone(),
            settings.receipt_retention(),
            Duration::from_secs(3600),
        );
        let mut workers = vec![tokio::spawn(retention.run(stop.clone()))];
        match settings.sync_settings() {
            Some(sync) => {
                let poller = KycSyncWorker::new(
                    self.sync.clone(),
                    provider,
                    self.apply.clone(),
                    self.metrics.clone(),
                    sync,
                );
                workers.push(tokio::spawn(poller.run(stop)));
            }
            None => tracing::info!("KYC polling is off (KYC_SYNC_INTERVAL_SECONDS=0)"),
        }
        workers
    }
}
