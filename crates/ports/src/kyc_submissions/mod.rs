//! KYC by API and the terms of service: the customer's identity data sent to the provider
//! instead of through the hosted link, the masked record kept of each submission, and the
//! hosted terms-of-service link whose acceptance the provider requires first.
//!
//! - [`provider`]: what the KYC provider port is given and answers.
//! - [`repository`]: the store port for submissions and acceptances.
//! - [`service`]: the use cases ([`SubmitKyc`], [`TermsOfService`]).

pub mod provider;
pub mod repository;
pub mod service;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use domain::{
    AccountId, Customer, CustomerId, CustomerType, KycSubmission, KycSubmissionRecord,
    SignedAgreementId, SubmissionId,
};

use crate::{KycProviderError, RepositoryError, Reservation};

pub use provider::{KycSubmissionRequest, KycSubmitError, SubmissionAccepted, TosLinkRequest};
pub use repository::{
    AgreementAcceptance, ClaimOutcome, KycSubmissionRepository, SubmissionClaim, SubmissionFinish,
};
pub use service::{KycSubmissionService, SubmissionPolicy, BLOCKING_STATUSES};

#[cfg(any(test, feature = "mock"))]
pub use repository::MockKycSubmissionRepository;

/// Why a submission was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitKycError {
    /// The account has no such customer.
    #[error("no such customer")]
    NotFound,
    /// The submission is for the other kind of customer.
    #[error("the customer is of type {expected:?}")]
    TypeMismatch {
        /// The customer's type.
        expected: CustomerType,
    },
    /// A submission is being reviewed or sent.
    #[error("a KYC submission is already in progress")]
    InProgress,
    /// No terms-of-service acceptance: neither stored nor in the submission.
    #[error("the customer has not accepted the terms of service")]
    TermsNotAccepted,
    /// The provider refused the data.
    #[error("the KYC provider refused the submission: {message}")]
    Rejected {
        /// Each refused field under our path, with the provider's reason.
        field_errors: Vec<(String, String)>,
        /// The provider's explanation.
        message: String,
    },
    /// The provider did not answer in time.
    #[error("the KYC provider did not answer in time")]
    KycTimeout,
    /// The provider is unreachable or failing.
    #[error("the KYC provider is unavailable")]
    KycUnavailable(#[source] anyhow::Error),
    /// The store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for SubmitKycError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Duplicate => Self::Unexpected(anyhow::anyhow!("duplicate submission")),
            RepositoryError::Conflict => {
                Self::Unexpected(anyhow::anyhow!("the customer kept changing"))
            }
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// Why listing submissions, issuing a terms-of-service link or storing an acceptance
/// failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomerKycError {
    /// The account (or, for an acceptance, the service) has no such customer.
    #[error("no such customer")]
    NotFound,
    /// The provider refused to issue a link.
    #[error("the KYC provider refused: {message}")]
    KycRejected {
        /// The provider's explanation.
        message: String,
    },
    /// The provider did not answer in time.
    #[error("the KYC provider did not answer in time")]
    KycTimeout,
    /// The provider is unreachable or failing.
    #[error("the KYC provider is unavailable")]
    KycUnavailable(#[source] anyhow::Error),
    /// The store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for CustomerKycError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            other => Self::Unexpected(other.into()),
        }
    }
}

impl From<KycProviderError> for CustomerKycError {
    fn from(e: KycProviderError) -> Self {
        match e {
            KycProviderError::Rejected { message, .. } => Self::KycRejected { message },
            KycProviderError::Timeout => Self::KycTimeout,
            KycProviderError::Unavailable(cause) => Self::KycUnavailable(cause),
        }
    }
}

/// Most submissions a listing shows.
pub const MAX_LISTED_SUBMISSIONS: u32 = 100;

/// The inbound port for KYC by API.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SubmitKyc: Send + Sync + 'static {
    /// Sends the account's customer's data to the provider; records the submission masked
    /// and the provider's answer on the customer; answers the customer as it now is.
    async fn submit_kyc(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        submission: KycSubmission,
    ) -> Result<Customer, SubmitKycError>;

    /// As [`Self::submit_kyc`], for a request under an idempotency key: the submission gets
    /// the key's reserved id (an earlier attempt of the request that failed is recorded
    /// again rather than twice), and the key's outcome, rendered from the changed customer,
    /// is written in the transaction that records the provider's acceptance.
    async fn submit_kyc_reserved(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        submission: KycSubmission,
        reservation: Reservation<Customer>,
    ) -> Result<Customer, SubmitKycError>;

    /// The account's customer as it is now, when its submission `id` was accepted: what an
    /// earlier attempt of a keyed request left when its answer was not stored. `None` when
    /// there is no such submission, or it was not accepted (the request runs again).
    async fn accepted_submission(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        id: SubmissionId,
    ) -> Result<Option<Customer>, SubmitKycError>;

    /// The customer's submissions, masked, newest first (at most
    /// [`MAX_LISTED_SUBMISSIONS`]).
    async fn list_submissions(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
    ) -> Result<Vec<KycSubmissionRecord>, CustomerKycError>;
}

/// The inbound port for the terms of service.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TermsOfService: Send + Sync + 'static {
    /// A hosted terms-of-service link for the account's customer that sends the customer
    /// back to `redirect_uri` with the acceptance's id.
    async fn tos_link(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        redirect_uri: String,
    ) -> Result<String, CustomerKycError>;

    /// Stores the acceptance the provider's page sent back for a customer (whose id the
    /// caller has authenticated by other means: a signed `state`).
    async fn accept_terms(
        &self,
        customer_id: CustomerId,
        agreement: SignedAgreementId,
    ) -> Result<(), CustomerKycError>;
}
