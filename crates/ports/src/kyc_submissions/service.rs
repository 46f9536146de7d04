//! The KYC-by-API and terms-of-service use cases; the latter in [`terms`].

mod terms;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, Customer, CustomerId, KycOrder, KycSource, KycStatus, KycSubmission,
    KycSubmissionRecord, KycUpdate, ProviderRef, SubmissionId, SubmissionOutcome,
};

use super::{
    ClaimOutcome, CustomerKycError, KycSubmissionRepository, KycSubmissionRequest, KycSubmitError,
    SubmissionAccepted, SubmissionClaim, SubmissionFinish, SubmitKyc, SubmitKycError,
    MAX_LISTED_SUBMISSIONS,
};
use crate::lifecycle::{decide, Decision};
use crate::{
    CustomerDirectory, CustomerRepository, Events, KycProvider, RepositoryError, Reservation,
};

/// The customer statuses during which a new submission is refused: the provider is
/// reviewing the last one. After a rejection (or anything else) a new one is allowed.
pub const BLOCKING_STATUSES: [KycStatus; 1] = [KycStatus::UnderReview];

/// How many times the customer's change is recomputed when someone else changed the
/// customer meanwhile.
const CHANGE_ATTEMPTS: u32 = 3;

/// Settings of the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionPolicy {
    /// How long a pending submission blocks a new one: longer than any provider call can
    /// take, so that only a submission whose sender stopped is given up.
    pub abandon_after: Duration,
}

/// The use cases, over a customer store, a submission store and a KYC provider.
#[derive(Clone)]
pub struct KycSubmissionService {
    customers: Arc<dyn CustomerRepository>,
    directory: Arc<dyn CustomerDirectory>,
    submissions: Arc<dyn KycSubmissionRepository>,
    kyc: Arc<dyn KycProvider>,
    events: Events,
    policy: SubmissionPolicy,
}

impl KycSubmissionService {
    /// Builds the service: customers read for their accounts through `customers`, and
    /// for a terms-of-service acceptance (which names no account) through `directory`;
    /// the events of KYC changes made by `events`.
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        directory: Arc<dyn CustomerDirectory>,
        submissions: Arc<dyn KycSubmissionRepository>,
        kyc: Arc<dyn KycProvider>,
        events: Events,
        policy: SubmissionPolicy,
    ) -> Self {
        Self {
            customers,
            directory,
            submissions,
            kyc,
            events,
            policy,
        }
    }

    /// Records an outcome that leaves the customer unchanged. The provider's answer is what
    /// the client must hear, so a failure to record it is logged, not returned: the pending
    /// submission is given up after [`SubmissionPolicy::abandon_after`].
    async fn record_failure(
        &self,
        id: SubmissionId,
        outcome: SubmissionOutcome,
        refused: Vec<String>,
    ) {
        let finish = SubmissionFinish {
            id,
            outcome,
            kyc_status: None,
            provider_reference: None,
            refused_fields: refused,
            finished_at: now(),
            customer: None,
            history: None,
            events: Vec::new(),
            idempotency: None,
        };
        if let Err(e) = self.submissions.finish_submission(&finish).await {
            tracing::error!(error = %e, outcome = outcome.as_str(), "could not record the submission's outcome");
        }
    }

    /// Records the provider's acceptance and what it does to the customer — as the KYC
    /// lifecycle decides it: the new state, its history entry and events — with the key's
    /// outcome, under a reservation; decides again on the customer re-read when someone
    /// else changed it meanwhile.
    async fn record_acceptance(
        &self,
        claim: &SubmissionClaim,
        mut customer: Customer,
        accepted: SubmissionAccepted,
        reservation: Option<&Reservation<Customer>>,
    ) -> Result<Customer, SubmitKycError> {
        let finished_at = now();
        let update = submission_update(&accepted, claim.submitted_at);
        for _ in 0..CHANGE_ATTEMPTS {
            let Decision {
                change,
                history,
                events,
                ..
            } = decide(&customer, &update, finished_at, &self.events);
            let changed = change
                .as_ref()
                .map_or_else(|| customer.clone(), |c| c.customer.clone());
            // The key's answer shows this very change: a replay shows what the first
            // answer showed.
            let idempotency =
                reservation.map(|r| r.completion(&changed, Some(claim.customer_id), finished_at));
            let finish = SubmissionFinish {
                id: claim.id,
                outcome: SubmissionOutcome::Accepted,
                kyc_status: Some(accepted.state.kyc_status),
                provider_reference: Some(accepted.provider_customer_id.clone()),
                refused_fields: Vec::new(),
                finished_at,
                customer: change,
                history,
                events,
                idempotency,
            };
            match self.submissions.finish_submission(&finish).await {
                Ok(()) => return Ok(changed),
                Err(RepositoryError::Conflict) => {
                    customer = self
                        .customers
                        .find(claim.account_id, claim.customer_id)
                        .await?
                        .ok_or(SubmitKycError::NotFound)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepositoryError::Conflict.into())
    }
}

/// Milliseconds: what every store keeps exactly.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// The provider's answer to a submission, as a KYC report: the state it gives and the
/// provider's customer id, as of `submitted_at` (the answer describes the state at some
/// moment after it; a webhook about this very submission may have overtaken it, and then
/// only the provider's customer id is kept).
pub(super) fn submission_update(
    accepted: &SubmissionAccepted,
    submitted_at: DateTime<Utc>,
) -> KycUpdate {
    KycUpdate {
        source: KycSource::Api,
        event_id: None,
        target: ProviderRef::ProviderCustomer(accepted.provider_customer_id.clone()),
        kyc_status: Some(accepted.state.kyc_status),
        tos_status: Some(accepted.state.tos_status),
        rejection_reasons: Some(accepted.state.rejection_reasons.clone()),
        provider_customer_id: Some(accepted.provider_customer_id.clone()),
        order: KycOrder::at(submitted_at),
    }
}

#[async_trait]
impl SubmitKyc for KycSubmissionService {
    async fn submit_kyc(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        submission: KycSubmission,
    ) -> Result<Customer, SubmitKycError> {
        let id = SubmissionId::new_random();
        self.submit(account_id, customer_id, submission, id, None)
            .await
    }

    async fn submit_kyc_reserved(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        submission: KycSubmission,
        reservation: Reservation<Customer>,
    ) -> Result<Customer, SubmitKycError> {
        let id = SubmissionId(reservation.reserved_id());
        self.submit(account_id, customer_id, submission, id, Some(reservation))
            .await
    }

    #[tracing::instrument(name = "accepted_kyc_submission", skip_all, fields(account_id = %account_id, customer_id = %customer_id, submission_id = %id.0))]
    async fn accepted_submission(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        id: SubmissionId,
    ) -> Result<Option<Customer>, SubmitKycError> {
        let Some(record) = self
            .submissions
            .find_submission(account_id, customer_id, id)
            .await?
        else {
            return Ok(None);
        };
        if record.outcome != SubmissionOutcome::Accepted {
            return Ok(None);
        }
        // The customer as it is now: the change the submission made, and whatever came
        // after it (as the create path rebuilds a customer's answer).
        Ok(self.customers.find(account_id, customer_id).await?)
    }

    #[tracing::instrument(name = "list_kyc_submissions", skip_all, fields(account_id = %account_id, customer_id = %customer_id))]
    async fn list_submissions(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
    ) -> Result<Vec<KycSubmissionRecord>, CustomerKycError> {
        self.submissions
            .list_submissions(account_id, customer_id, MAX_LISTED_SUBMISSIONS)
            .await?
            .ok_or(CustomerKycError::NotFound)
    }
}

impl KycSubmissionService {
    /// Submits under the submission id `id`; with a reservation, the key's outcome is
    /// written with the acceptance. A failure is the caller's to store or release.
    #[tracing::instrument(name = "submit_kyc", skip_all, fields(account_id = %account_id, customer_id = %customer_id, submission_id = %id.0))]
    async fn submit(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        submission: KycSubmission,
        id: SubmissionId,
        reservation: Option<Reservation<Customer>>,
    ) -> Result<Customer, SubmitKycError> {
        let customer = self
            .customers
            .find(account_id, customer_id)
            .await?
            .ok_or(SubmitKycError::NotFound)?;
        if submission.customer_type() != customer.customer_type {
            return Err(SubmitKycError::TypeMismatch {
                expected: customer.customer_type,
            });
        }
        // Checked again, atomically, by the claim; this spares a claim in the common case.
        if BLOCKING_STATUSES.contains(&customer.kyc_state.kyc_status) {
            return Err(SubmitKycError::InProgress);
        }
        // An acceptance is withdrawn only when a new e-mail address puts the customer on a
        // new link (see `UpdateCustomer`). A submission that read it just before such a
        // change commits still goes out with it, for the customer as its claim finds it —
        // on the new link: the claim does not check the acceptance again. Otherwise an
        // acceptance is only ever added, so reading it apart from the claim cannot let a
        // submission through without one.
        let agreement = match submission.signed_agreement_id() {
            Some(agreement) => agreement.clone(),
            None => self
                .submissions
                .signed_agreement_id(account_id, customer_id)
                .await?
                .ok_or(SubmitKycError::TermsNotAccepted)?,
        };

        let submitted_at = now();
        let abandon_after = TimeDelta::from_std(self.policy.abandon_after)
            .map_err(|e| SubmitKycError::Unexpected(e.into()))?;
        let claim = SubmissionClaim {
            id,
            account_id,
            customer_id,
            customer_type: customer.customer_type,
            submitted_at,
            summary: submission.summary(),
            blocking_statuses: BLOCKING_STATUSES.to_vec(),
            abandon_before: submitted_at - abandon_after,
        };
        let customer = match self.submissions.claim_submission(&claim).await? {
            ClaimOutcome::Claimed(customer) => *customer,
            ClaimOutcome::NotFound => return Err(SubmitKycError::NotFound),
            ClaimOutcome::InProgress => return Err(SubmitKycError::InProgress),
        };

        let request = KycSubmissionRequest {
            customer_id,
            provider_customer_id: customer.kyc.provider_customer_id.clone(),
            provider_link_id: customer.kyc.provider_link_id.clone(),
            email: submission
                .email()
                .cloned()
                .unwrap_or_else(|| customer.email.clone()),
            phone: submission
                .phone()
                .cloned()
                .unwrap_or_else(|| customer.phone.clone()),
            signed_agreement_id: agreement,
            submission,
        };
        // No database connection is held while the provider is called.
        match self.kyc.submit_kyc(&request).await {
            Ok(accepted) => {
                let customer = self
                    .record_acceptance(&claim, customer, accepted, reservation.as_ref())
                    .await?;
                tracing::info!(
                    kyc_status = customer.kyc_state.kyc_status.as_str(),
                    "KYC submission accepted"
                );
                Ok(customer)
            }
            Err(KycSubmitError::Rejected {
                field_errors,
                message,
            }) => {
                let refused = field_errors.iter().map(|(path, _)| path.clone()).collect();
                self.record_failure(claim.id, SubmissionOutcome::Refused, refused)
                    .await;
                Err(SubmitKycError::Rejected {
                    field_errors,
                    message,
                })
            }
            Err(KycSubmitError::Timeout) => {
                self.record_failure(claim.id, SubmissionOutcome::Failed, Vec::new())
                    .await;
                Err(SubmitKycError::KycTimeout)
            }
            Err(KycSubmitError::Unavailable(cause)) => {
                self.record_failure(claim.id, SubmissionOutcome::Failed, Vec::new())
                    .await;
                Err(SubmitKycError::KycUnavailable(cause))
            }
        }
    }
}
