//! Housekeeping around the lifecycle: exactly-once receipts are kept only as long as a
//! provider may redeliver (the history stays), and reports arriving on a channel (the
//! sandbox's simulated outcomes) are pumped into [`KycLifecycle::apply`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use domain::KycUpdate;

use super::{KycLifecycle, KycReports};

/// Deletes old exactly-once receipts periodically.
pub struct ReceiptRetention {
    reports: Arc<dyn KycReports>,
    keep: Duration,
    every: Duration,
}

impl ReceiptRetention {
    /// Keeps receipts for `keep`, looking every `every`.
    pub fn new(reports: Arc<dyn KycReports>, keep: Duration, every: Duration) -> Self {
        Self {
            reports,
            keep,
            every,
        }
    }

    /// Deletes the receipts older than the retention once; returns how many.
    pub async fn run_once(&self) -> Result<u64, crate::RepositoryError> {
        let keep = TimeDelta::from_std(self.keep).unwrap_or(TimeDelta::MAX);
        let before = Utc::now()
            .checked_sub_signed(keep)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let deleted = self.reports.purge_receipts(before).await?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted expired provider event receipts");
        }
        Ok(deleted)
    }

    /// Runs at once and then every `every` until `shutdown` turns true (or its sender goes).
    pub async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        crate::periodic::every(self.every, shutdown, || async {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "could not delete expired provider event receipts");
            }
        })
        .await;
    }
}

/// Applies every report that arrives on `updates` as a report about customers of
/// `provider`, until the channel closes. A report that cannot be applied is logged and
/// dropped: its sender (the sandbox) has no one to retry for.
pub async fn drain_updates(
    provider: &'static str,
    mut updates: tokio::sync::mpsc::Receiver<KycUpdate>,
    lifecycle: Arc<dyn KycLifecycle>,
) {
    while let Some(update) = updates.recv().await {
        if let Err(e) = lifecycle.apply(provider, update).await {
            tracing::warn!(provider, error = %e, "could not apply a KYC report from the channel");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{ApplyError, ApplyOutcome, MockKycLifecycle, MockKycReports};
    use domain::{KycOrder, KycSource, ProviderRef};

    fn update(n: u32) -> KycUpdate {
        KycUpdate {
            source: KycSource::Sandbox,
            event_id: Some(format!("sandbox_{n}")),
            target: ProviderRef::KycLink("sandbox_kyc_link_1".into()),
            kyc_status: Some(domain::KycStatus::Approved),
            tos_status: None,
            rejection_reasons: None,
            provider_customer_id: None,
            order: KycOrder::at(Utc::now()),
        }
    }

    #[tokio::test]
    async fn every_report_on_the_channel_is_applied_even_after_one_fails() {
        let mut lifecycle = MockKycLifecycle::new();
        let mut seq = mockall::Sequence::new();
        lifecycle
            .expect_apply()
            .withf(|p, u| p == "sandbox" && u.event_id.as_deref() == Some("sandbox_1"))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Err(ApplyError::Contention));
        lifecycle
            .expect_apply()
            .withf(|p, u| p == "sandbox" && u.event_id.as_deref() == Some("sandbox_2"))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(ApplyOutcome::Applied));
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(update(1)).await.unwrap();
        tx.send(update(2)).await.unwrap();
        drop(tx);
        drain_updates("sandbox", rx, Arc::new(lifecycle)).await;
    }

    #[tokio::test]
    async fn receipts_older_than_the_retention_are_purged() {
        let mut reports = MockKycReports::new();
        let started = Utc::now();
        reports
            .expect_purge_receipts()
            .withf(move |before| {
                // `before` is 30 days before a moment just after `started`.
                let age = started - *before;
                age <= TimeDelta::days(30) && age > TimeDelta::days(30) - TimeDelta::seconds(5)
            })
            .times(1)
            .returning(|_| Ok(3));
        let retention = ReceiptRetention::new(
            Arc::new(reports),
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(3600),
        );
        assert_eq!(retention.run_once().await.unwrap(), 3);
    }
}
