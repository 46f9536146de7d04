//! What the KYC provider port is given and gives back for KYC by API and for terms of
//! service links.

use domain::{CustomerEmail, CustomerId, KycState, KycSubmission, PhoneNumber, SignedAgreementId};

/// A submission to send to the provider, with everything the use case knows about the
/// customer that the provider needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycSubmissionRequest {
    /// Our customer: an adapter derives its idempotency key from it and the submission.
    pub customer_id: CustomerId,
    /// The provider's customer, when it already has one: then the submission updates it.
    pub provider_customer_id: Option<String>,
    /// The provider's KYC link of the customer, when it issued one.
    pub provider_link_id: Option<String>,
    /// The contact e-mail: the submission's, else the customer's.
    pub email: CustomerEmail,
    /// The contact phone: the submission's, else the customer's.
    pub phone: PhoneNumber,
    /// The terms-of-service acceptance: the submission's, else the one stored.
    pub signed_agreement_id: SignedAgreementId,
    /// The data.
    pub submission: KycSubmission,
}

/// The provider took a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionAccepted {
    /// The provider's customer id (new, or the one updated).
    pub provider_customer_id: String,
    /// Where the verification stands now, in the service's vocabulary.
    pub state: KycState,
}

/// Why the provider did not take a submission.
#[derive(Debug, thiserror::Error)]
pub enum KycSubmitError {
    /// The provider refused the data as invalid (a 4xx about the request itself).
    #[error("the KYC provider refused the submission: {message}")]
    Rejected {
        /// Each refused field under our path for it (`identifying_information`), with the
        /// provider's reason, safe to show to the API client.
        field_errors: Vec<(String, String)>,
        /// The provider's explanation, safe to show to the API client.
        message: String,
    },
    /// The provider did not answer within the submission timeout.
    #[error("the KYC provider did not answer in time")]
    Timeout,
    /// The provider could not be reached, answered 5xx, or refused our credentials.
    #[error("the KYC provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// What the provider needs to issue a hosted terms-of-service link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TosLinkRequest {
    /// Our customer.
    pub customer_id: CustomerId,
    /// The provider's customer, when it has one: its own acceptance link is used.
    pub provider_customer_id: Option<String>,
    /// Where the provider's page sends the customer back, with `signed_agreement_id`.
    pub redirect_uri: String,
}
