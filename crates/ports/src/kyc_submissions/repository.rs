//! The store port for KYC submissions: a submission is claimed (so that two cannot be in
//! flight for one customer), then finished with its outcome and, when the provider took
//! it, the customer's new KYC state, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccountId, Customer, CustomerId, CustomerType, KycStatus, KycSubmissionRecord,
    SignedAgreementId, SubmissionId, SubmissionOutcome, SubmissionSummary,
};

use crate::RepositoryError;

/// A submission about to be sent to the provider, and when it may not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionClaim {
    /// Our id for it.
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

/// The customer's new state after the provider took a submission, written with a
/// compare-and-set on `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerKycChange {
    /// The version the change was computed from.
    pub expected_version: i64,
    /// The customer as it is to be stored (its `version` is `expected_version + 1`).
    pub customer: Customer,
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
    /// The customer's change, when the provider took the submission.
    pub customer: Option<CustomerKycChange>,
}

/// Where submissions and terms-of-service acceptances are kept. Scoped like the customer
/// repository: nothing crosses accounts.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycSubmissionRepository: Send + Sync + 'static {
    /// In one transaction that holds the customer against concurrent claims: marks pending
    /// submissions older than `abandon_before` abandoned, then records the claim as pending
    /// unless the customer is missing, has a blocking status, or has another pending
    /// submission.
    async fn claim_submission(
        &self,
        claim: &SubmissionClaim,
    ) -> Result<ClaimOutcome, RepositoryError>;

    /// In one transaction: records the outcome and, when given, writes the customer's
    /// change (the one place a submission changes a customer). Fails with
    /// [`RepositoryError::Conflict`] when the customer's version moved; then nothing is
    /// written.
    async fn finish_submission(&self, finish: &SubmissionFinish) -> Result<(), RepositoryError>;

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

    /// Stores a terms-of-service acceptance on the customer (and marks its terms
    /// accepted, as a change: `version` + 1, `updated_at`) unless one is stored already:
    /// only the first acceptance is kept, and a later one changes nothing. False when there
    /// is no such customer.
    async fn record_signed_agreement(
        &self,
        customer_id: CustomerId,
        agreement: &SignedAgreementId,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;
}
