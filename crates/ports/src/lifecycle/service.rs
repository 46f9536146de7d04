//! The KYC lifecycle use case: [`KycLifecycle`] (every report's one path) and
//! [`ReadKyc`] (a customer's KYC overview).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::{AccountId, CustomerId, KycState, KycUpdate, ProviderRef};

use super::decide::decide;
use super::{
    ApplyError, ApplyOutcome, EventReceipt, KycLifecycle, KycOverview, KycReportRecord, KycReports,
    ReadKyc, Recorded,
};
use crate::{CustomerRepository, Events, ReadCustomersError};

/// Decisions retried after lost compare-and-sets before giving up. Each retry follows a
/// write that did succeed, so this bounds work, not progress.
const MAX_DECISIONS: usize = 32;

/// A short random pause after a lost compare-and-set, growing with the attempts, so that
/// writers racing for one customer spread out instead of colliding again in step.
async fn back_off(attempt: usize) {
    use rand::Rng as _;
    let most = u64::try_from(attempt.min(10)).unwrap_or(10) * 2;
    let millis = rand::thread_rng().gen_range(0..=most);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// The KYC lifecycle over its store.
#[derive(Clone)]
pub struct KycLifecycleService {
    reports: Arc<dyn KycReports>,
    customers: Arc<dyn CustomerRepository>,
    events: Events,
}

impl KycLifecycleService {
    /// The lifecycle over `reports`, reading customers for their accounts through
    /// `customers`, writing events made by `events`.
    pub fn new(
        reports: Arc<dyn KycReports>,
        customers: Arc<dyn CustomerRepository>,
        events: Events,
    ) -> Self {
        Self {
            reports,
            customers,
            events,
        }
    }

    /// One decision on the customers as they are now: what to write and what it means.
    async fn decide_once(
        &self,
        provider: &str,
        update: &KycUpdate,
    ) -> Result<(ApplyOutcome, usize, KycReportRecord), ApplyError> {
        let customers = self
            .reports
            .customers_matching(provider, &update.target)
            .await?;
        let now = Utc::now();
        let mut record = KycReportRecord::default();
        let mut outcome = ApplyOutcome::Unmatched;
        for customer in &customers {
            let decision = decide(customer, update, now, &self.events);
            outcome = stronger(outcome, decision.outcome);
            record.changes.extend(decision.change);
            record.history.extend(decision.history);
            record.events.extend(decision.events);
        }
        record.receipt = update.event_id.as_ref().map(|event_id| EventReceipt {
            provider: provider.to_owned(),
            event_id: event_id.clone(),
            received_at: now,
            outcome,
        });
        Ok((outcome, customers.len(), record))
    }
}

/// What a report did overall, over all the customers it names: applied to any beats
/// unchanged for any beats stale for all.
fn stronger(a: ApplyOutcome, b: ApplyOutcome) -> ApplyOutcome {
    let rank = |o: ApplyOutcome| match o {
        ApplyOutcome::Applied => 4,
        ApplyOutcome::Unchanged => 3,
        ApplyOutcome::Stale => 2,
        ApplyOutcome::Duplicate => 1,
        ApplyOutcome::Unmatched => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

#[async_trait]
impl KycLifecycle for KycLifecycleService {
    #[tracing::instrument(name = "kyc.apply", skip_all, fields(provider = %provider, source = update.source.as_str(), event_id = update.event_id.as_deref()))]
    async fn apply(&self, provider: &str, update: KycUpdate) -> Result<ApplyOutcome, ApplyError> {
        for attempt in 1..=MAX_DECISIONS {
            let (outcome, matched, record) = self.decide_once(provider, &update).await?;
            if matched == 0 {
                // Logged by identifiers only: a report names no person.
                tracing::info!(
                    target_kind = target_kind(&update.target),
                    "KYC report for no known customer"
                );
            }
            let written = if record.is_empty() {
                Recorded::Written
            } else {
                self.reports.record(&record).await?
            };
            match written {
                Recorded::Written => {
                    tracing::info!(
                        outcome = outcome.as_str(),
                        customers = matched,
                        "KYC report handled"
                    );
                    return Ok(outcome);
                }
                Recorded::DuplicateEvent => {
                    tracing::info!("KYC event received before; ignored");
                    return Ok(ApplyOutcome::Duplicate);
                }
                Recorded::VersionConflict => {
                    tracing::debug!(attempt, "customer changed meanwhile; deciding again");
                    back_off(attempt).await;
                }
            }
        }
        tracing::warn!("KYC report not applied: the customer kept changing");
        Err(ApplyError::Contention)
    }

    async fn state_of(
        &self,
        provider: &str,
        target: &ProviderRef,
    ) -> Result<Option<KycState>, ApplyError> {
        Ok(self
            .reports
            .customers_matching(provider, target)
            .await?
            .into_iter()
            .next()
            .map(|c| c.kyc_state))
    }
}

fn target_kind(target: &ProviderRef) -> &'static str {
    match target {
        ProviderRef::KycLink(_) => "kyc_link",
        ProviderRef::ProviderCustomer(_) => "provider_customer",
    }
}

#[async_trait]
impl ReadKyc for KycLifecycleService {
    #[tracing::instrument(name = "kyc_overview", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn kyc_overview(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<KycOverview>, ReadCustomersError> {
        let Some(customer) = self.customers.find(account_id, id).await? else {
            return Ok(None);
        };
        let history = self.reports.history(customer.id).await?;
        Ok(Some(KycOverview::new(customer, history)))
    }
}

#[cfg(test)]
mod tests;
