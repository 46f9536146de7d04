//! Reconciliation: a worker in every instance leases customers whose verification has not
//! reached an end and has not been read back for a while, reads each one's state from the
//! provider, and applies what it read like any other report (source `poll`, as of the moment
//! it was fetched). Leases keep instances apart; a provider failure is logged and the
//! customer comes back when its lease ends, untouched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{KycOrder, KycSource, KycUpdate};
use futures_util::StreamExt as _;

use super::{ApplyOutcome, KycLifecycle, KycSyncQueue, SyncClaim, SyncTarget};
use crate::{KycProvider, RepositoryError};

/// How the poller paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// A customer is read back when its last sync is older than this.
    pub interval: Duration,
    /// Customers leased per round.
    pub batch: u32,
    /// How long a leased customer is reserved. The worker starts no read once half of it
    /// is used, so it must exceed the longest provider call.
    pub lease: Duration,
    /// Provider reads in flight at once.
    pub concurrency: usize,
    /// Pause after a round that did not fill its batch.
    pub pause: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRound {
    /// Customers leased.
    pub claimed: usize,
    /// Reads that changed a customer's state.
    pub changed: usize,
    /// Reads that found nothing new.
    pub unchanged: usize,
    /// Reads the provider failed (retried when the lease ends).
    pub provider_errors: usize,
    /// Reads whose result could not be stored (retried when the lease ends).
    pub store_errors: usize,
    /// Leased customers left for a later round (half the lease was used).
    pub left: usize,
}

/// Told about every round, for metrics.
pub trait SyncObserver: Send + Sync + 'static {
    /// A round ran.
    fn round(&self, round: &SyncRound);
    /// A round could not lease customers (the store failed).
    fn round_failed(&self);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSyncObserver;

impl SyncObserver for NoSyncObserver {
    fn round(&self, _round: &SyncRound) {}
    fn round_failed(&self) {}
}

/// What became of one leased customer.
enum Synced {
    Read(ApplyOutcome),
    ProviderFailed,
    StoreFailed,
    Left,
}

/// The poller.
pub struct KycSyncWorker {
    queue: Arc<dyn KycSyncQueue>,
    provider: Arc<dyn KycProvider>,
    lifecycle: Arc<dyn KycLifecycle>,
    observer: Arc<dyn SyncObserver>,
    settings: SyncSettings,
}

impl KycSyncWorker {
    /// A poller of `provider`'s customers in `queue`, applying through `lifecycle`.
    pub fn new(
        queue: Arc<dyn KycSyncQueue>,
        provider: Arc<dyn KycProvider>,
        lifecycle: Arc<dyn KycLifecycle>,
        observer: Arc<dyn SyncObserver>,
        settings: SyncSettings,
    ) -> Self {
        Self {
            queue,
            provider,
            lifecycle,
            observer,
            settings,
        }
    }

    /// Leases one batch and reads each customer back.
    pub async fn run_round(&self) -> Result<SyncRound, RepositoryError> {
        let leased_at = Instant::now();
        let targets = self
            .queue
            .claim_due(&SyncClaim {
                provider: self.provider.name().to_owned(),
                interval: self.settings.interval,
                limit: self.settings.batch,
                lease: self.settings.lease,
            })
            .await?;
        let mut round = SyncRound {
            claimed: targets.len(),
            ..SyncRound::default()
        };
        let results: Vec<Synced> = futures_util::stream::iter(targets)
            .map(|target| self.sync_one(target, leased_at))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result {
                Synced::Read(ApplyOutcome::Applied) => round.changed += 1,
                Synced::Read(_) => round.unchanged += 1,
                Synced::ProviderFailed => round.provider_errors += 1,
                Synced::StoreFailed => round.store_errors += 1,
                Synced::Left => round.left += 1,
            }
        }
        Ok(round)
    }

    async fn sync_one(&self, target: SyncTarget, leased_at: Instant) -> Synced {
        // A read started this late might outlive the lease, and another instance would
        // read the same customer: leave it for the lease to run out.
        if leased_at.elapsed() >= self.settings.lease / 2 {
            return Synced::Left;
        }
        let customer_id = target.customer_id;
        let fetched_at = Utc::now();
        let state = match self.provider.fetch_kyc_state(&target.target).await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(%customer_id, error = %format!("{:#}", anyhow::Error::new(e)), "could not read the KYC state from the provider; retrying in a later round");
                return Synced::ProviderFailed;
            }
        };
        let update = KycUpdate {
            source: KycSource::Poll,
            event_id: None,
            target: target.target,
            kyc_status: state.kyc_status,
            tos_status: state.tos_status,
            rejection_reasons: state.rejection_reasons,
            provider_customer_id: state.provider_customer_id,
            // The provider's answer holds as of the request: an event created while it
            // was under way is newer, and wins.
            order: KycOrder::at(fetched_at),
        };
        let outcome = match self.lifecycle.apply(self.provider.name(), update).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(%customer_id, error = %format!("{:#}", anyhow::Error::new(e)), "could not apply a polled KYC state; retrying in a later round");
                return Synced::StoreFailed;
            }
        };
        match self.queue.mark_synced(customer_id, fetched_at).await {
            Ok(()) => Synced::Read(outcome),
            Err(e) => {
                tracing::warn!(%customer_id, error = %e, "could not record a sync");
                Synced::StoreFailed
            }
        }
    }

    /// Runs rounds until `shutdown` turns true (or its sender goes), finishing the round in
    /// hand. A round that filled its batch is followed at once by another.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(
            provider = self.provider.name(),
            interval_secs = self.settings.interval.as_secs(),
            batch = self.settings.batch,
            "KYC sync worker started"
        );
        while !*shutdown.borrow() {
            let full = match self.run_round().await {
                Ok(round) => {
                    if round.claimed > 0 {
                        tracing::info!(
                            claimed = round.claimed,
                            changed = round.changed,
                            provider_errors = round.provider_errors,
                            store_errors = round.store_errors,
                            "KYC sync round done"
                        );
                    }
                    self.observer.round(&round);
                    round.claimed >= usize::try_from(self.settings.batch).unwrap_or(usize::MAX)
                        && round.left == 0
                }
                Err(e) => {
                    tracing::warn!(error = %e, "KYC sync worker could not reach the store");
                    self.observer.round_failed();
                    false
                }
            };
            if !full {
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                    () = tokio::time::sleep(self.settings.pause) => {}
                }
            }
        }
        tracing::info!("KYC sync worker stopped");
    }
}

#[cfg(test)]
mod tests;
