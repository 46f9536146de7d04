//! Wiring of outgoing webhooks: the secret box under SECRETS_ENCRYPTION_KEY (or the
//! development key in DATA_DIR), the guarded sender, the endpoint use cases, the delivery
//! worker (its own concurrency, apart from the KYC mail's) and the retention job.

use std::sync::Arc;
use std::time::Duration;

use adapters::metrics::OutboxMetrics;
use adapters::secret_box::AesGcmSecretBox;
use adapters::webhook::HttpWebhookSender;
use ports::{
    DeliveryRetention, JobHandler, Outbox, OutboxWorker, RetrySchedule, SecretBox,
    WebhookDeliveries, WebhookDeliveryHandler, WebhookEndpointRepository, WebhookEndpointService,
    WebhookSender, WorkerSettings,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::config::{Config, Storage, WebhookSettings};
use crate::secret::{self, SecretSource};

/// How often finished deliveries past their retention are looked for.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The key that seals webhook signing secrets: SECRETS_ENCRYPTION_KEY, or on SQLite
/// without it the development key in DATA_DIR.
pub fn sealing_key(config: &Config, storage: &Storage) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let (key, source) = secret::encryption_key(config, storage)?;
    match &source {
        SecretSource::Generated(path) => tracing::info!(
            path = %path.display(),
            "generated a development key for webhook secrets (set SECRETS_ENCRYPTION_KEY in production)"
        ),
        SecretSource::File(path) => {
            tracing::info!(path = %path.display(), "using the development key for webhook secrets")
        }
        SecretSource::Environment => {}
    }
    Ok(key)
}

/// The webhook parts the application runs.
pub struct Webhooks {
    /// The endpoint and delivery use cases, for the HTTP layer.
    pub service: Arc<WebhookEndpointService>,
    handler: Arc<dyn JobHandler>,
    deliveries: Arc<dyn WebhookDeliveries>,
    worker: WorkerSettings,
    settings: WebhookSettings,
}

impl Webhooks {
    /// Builds every part from configuration; fails naming the setting at fault.
    pub fn build(
        config: &Config,
        key: &Zeroizing<[u8; 32]>,
        endpoints: Arc<dyn WebhookEndpointRepository>,
        deliveries: Arc<dyn WebhookDeliveries>,
        metrics: &OutboxMetrics,
    ) -> anyhow::Result<Self> {
        let settings = config.webhooks.clone();
        let worker = WorkerSettings {
            batch_size: 20,
            lease: settings.lease()?,
            concurrency: settings.concurrency(),
            per_endpoint: Some(settings.webhook_max_in_flight_per_endpoint),
            schedule: RetrySchedule::Fixed(settings.retry_schedule()?),
        };
        let secrets: Arc<dyn SecretBox> = Arc::new(AesGcmSecretBox::new(key));
        let sender: Arc<dyn WebhookSender> = Arc::new(HttpWebhookSender::new(settings.sender())?);
        if settings.webhook_allow_private_networks {
            tracing::warn!("WEBHOOK_ALLOW_PRIVATE_NETWORKS is on: webhook endpoints may point into this service's own network (development only)");
        }
        let service = Arc::new(WebhookEndpointService::new(
            endpoints,
            secrets.clone(),
            sender.clone(),
            settings.rules(),
        ));
        let handler = WebhookDeliveryHandler::new(deliveries.clone(), secrets, sender);
        Ok(Self {
            service,
            handler: Arc::new(metrics.wrap(Arc::new(handler))),
            deliveries,
            worker,
            settings,
        })
    }

    /// Starts the delivery worker and the retention job; both stop when `stop` says `true`.
    pub fn spawn(
        self,
        outbox: Arc<dyn Outbox>,
        stop: &watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let worker = OutboxWorker::new(outbox, self.handler, self.worker);
        let retention = DeliveryRetention::new(self.deliveries, self.settings.retention());
        vec![
            tokio::spawn(worker.run(self.settings.poll_interval(), stop.clone())),
            tokio::spawn(retention.run(RETENTION_INTERVAL, stop.clone())),
        ]
    }
}
