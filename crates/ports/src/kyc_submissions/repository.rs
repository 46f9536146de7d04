//! The store port for KYC submissions: a submission is claimed (so that two cannot be in
//! flight for one customer), then finished with its outcome and, when the provider took
//! it, the customer's new KYC state, its history entry and events — and, under an
//! idempotency key, the key's outcome — in one transaction. A terms-of-service acceptance
//! is stored likewise with what it changes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccountId, Customer, CustomerId, CustomerType, KycHistoryEntry, KycStatus, KycSubmissionRecord,
    SignedAgreementId, SubmissionId, SubmissionOutcome, SubmissionSummary,
};

use crate::{IdempotencyCompletion, KycChange, NewEvent, RepositoryError};

/// A submission about to be sent to the provider, and when it may not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionClaim {
    /// Our id for it: a new one, or, for a request under an idempotency key, the key's
    /// reserved id — which an earlier attempt of the same request may have recorded
    /// already (it failed, or its sender stopped): that record is the one claimed again.
    pub id: SubmissionId,
    /// The account sending it.
    pub account_id: AccountId,
    /// The customer.
    pub customer_id: CustomerId,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// When it was received.
    pub submitted_at: DateTime<Utc>,
    /// What is kept of it.
    pub summary: SubmissionSummary,
    /// The customer's KYC statuses that refuse a new submission.
    pub blocking_statuses: Vec<KycStatus>,
    /// A pending submission received before this time no longer blocks (its sender
    /// stopped): it is marked abandoned.
    pub abandon_before: DateTime<Utc>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// Recorded as pending; the customer as it is now.
    Claimed(Box<Customer>),
    /// The account has no such customer.
    NotFound,
    /// Another submission is pending, or the customer's status is a blocking one.
    InProgress,
}

/// A submission's outcome, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionFinish {
    /// Which submission.
    pub id: SubmissionId,
    /// Its outcome (not `Pending`).
    pub outcome: SubmissionOutcome,
    /// The KYC status the provider reported, when it took the submission.
    pub kyc_status: Option<KycStatus>,
    /// The provider's reference.
    pub provider_reference: Option<String>,
    /// The refused fields' paths.
    pub refused_fields: Vec<String>,
    /// When the outcome was known.
    pub finished_at: DateTime<Utc>,
    /// The customer's change, when the provider took the submission and its answer changes
    /// the customer (as the KYC lifecycle decides it): written under the compare-and-set
    /// on the customer's version and watermark.
    pub customer: Option<KycChange>,
    /// The history entry of the provider's answer (source `api`), when it has one.
    pub history: Option<KycHistoryEntry>,
    /// The outgoing events of the change (`customer.kyc.updated`, …).
    pub events: Vec<NewEvent>,
    /// The outcome of the request's idempotency key, written with the rest: the accepted
    /// submission's answer.
    pub idempotency: Option<IdempotencyCompletion>,
}

/// A terms-of-service acceptance to store, and what it does to the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementAcceptance {
    /// The customer.
    pub customer_id: CustomerId,
    /// The acceptance's id, as the provider's page sent it back.
    pub agreement: SignedAgreementId,
    /// When it was received.
    pub at: DateTime<Utc>,
    /// The customer's change (terms accepted), as the KYC lifecycle decided it; `None`
    /// when the terms were accepted already (a provider report said so).
    pub change: Option<KycChange>,
    /// The history entry (source `tos_redirect`), when it has one.
    pub history: Option<KycHistoryEntry>,
    /// The outgoing events of the change (`customer.kyc.updated`).
    pub events: Vec<NewEvent>,
}

/// Where submissions and terms-of-service acceptances are kept. Scoped like the customer
/// repository: nothing crosses accounts.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycSubmissionRepository: Send + Sync + 'static {
    /// In one transaction that holds the customer against concurrent claims: marks pending
    /// submissions older than `abandon_before` abandoned, then records the claim as pending
    /// unless the customer is missing, has a blocking status, or has another pending
    /// submission. A submission of the customer with the claim's id that was not accepted
    /// (an earlier attempt of the same keyed request) is recorded as pending again, and
    /// does not count as another; one that was accepted is [`RepositoryError::Duplicate`].
    async fn claim_submission(
        &self,
        claim: &SubmissionClaim,
    ) -> Result<ClaimOutcome, RepositoryError>;

    /// In one transaction: records the outcome and, when given, writes the customer's
    /// change (the one place a submission changes a customer), its history entry, its
    /// events and the idempotency key's outcome. Fails with [`RepositoryError::Conflict`]
    /// when the customer's version or KYC watermark moved, or with an error when the key
    /// is no longer held (its lease ran out and another request took it over); then
    /// nothing is written.
    async fn finish_submission(&self, finish: &SubmissionFinish) -> Result<(), RepositoryError>;

    /// The account's customer's submission with this id, if any.
    async fn find_submission(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        id: SubmissionId,
    ) -> Result<Option<KycSubmissionRecord>, RepositoryError>;

    /// The customer's submissions, newest first, at most `limit`; `None` when the account
    /// has no such customer.
    async fn list_submissions(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        limit: u32,
    ) -> Result<Option<Vec<KycSubmissionRecord>>, RepositoryError>;

    /// The terms-of-service acceptance stored for the customer, if any.
    async fn signed_agreement_id(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
    ) -> Result<Option<SignedAgreementId>, RepositoryError>;

    /// In one transaction: stores a terms-of-service acceptance on the customer, with the
    /// change, history entry and events it brings (its terms marked accepted), unless an
    /// acceptance is stored already: only the first acceptance is kept, and a later one
    /// writes nothing at all. False when there is no such customer. Fails with
    /// [`RepositoryError::Conflict`] when the customer's version or KYC watermark moved
    /// since the change was decided; then nothing is written.
    async fn record_signed_agreement(
        &self,
        acceptance: &AgreementAcceptance,
    ) -> Result<bool, RepositoryError>;
}
