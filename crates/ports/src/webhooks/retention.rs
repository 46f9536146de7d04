//! Keeping the delivery history bounded: a periodic job deletes deliveries that were
//! delivered or given up longer ago than the retention, and the events left with none.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Purged, WebhookDeliveries};
use crate::RepositoryError;

/// Deletes finished deliveries older than the retention.
pub struct DeliveryRetention {
    deliveries: Arc<dyn WebhookDeliveries>,
    keep: Duration,
}

impl DeliveryRetention {
    /// Keeps finished deliveries for `keep`.
    pub fn new(deliveries: Arc<dyn WebhookDeliveries>, keep: Duration) -> Self {
        Self { deliveries, keep }
    }

    /// One clean-up as of `now`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Purged, RepositoryError> {
        let keep = TimeDelta::from_std(self.keep).unwrap_or(TimeDelta::MAX);
        let before = now
            .checked_sub_signed(keep)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let purged = self.deliveries.purge_finished(before).await?;
        if purged != Purged::default() {
            tracing::info!(
                deliveries = purged.deliveries,
                events = purged.events,
                "deleted webhook deliveries past their retention"
            );
        }
        Ok(purged)
    }

    /// Cleans up at once, then every `every`, until `shutdown` turns true.
    pub async fn run(self, every: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(e) = self.run_once(Utc::now()).await {
                tracing::warn!(error = %e, "could not delete old webhook deliveries; will try again");
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::MockWebhookDeliveries;

    #[tokio::test]
    async fn finished_deliveries_older_than_the_retention_are_purged() {
        let now: DateTime<Utc> = "2026-03-31T12:00:00Z".parse().unwrap();
        let mut deliveries = MockWebhookDeliveries::new();
        deliveries
            .expect_purge_finished()
            .times(1)
            .withf(|before| *before == "2026-03-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap())
            .returning(|_| {
                Ok(Purged {
                    deliveries: 3,
                    events: 1,
                })
            });
        let retention =
            DeliveryRetention::new(Arc::new(deliveries), Duration::from_secs(30 * 86_400));
        assert_eq!(
            retention.run_once(now).await.unwrap(),
            Purged {
                deliveries: 3,
                events: 1
            }
        );
    }

    #[tokio::test]
    async fn the_job_stops_when_told_even_between_runs() {
        let mut deliveries = MockWebhookDeliveries::new();
        deliveries
            .expect_purge_finished()
            .returning(|_| Ok(Purged::default()));
        let retention = DeliveryRetention::new(Arc::new(deliveries), Duration::from_secs(60));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(retention.run(Duration::from_secs(3600), stopped));
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), running)
            .await
            .unwrap()
            .unwrap();
    }
}
