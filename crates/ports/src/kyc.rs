//! The KYC provider port: obtains hosted KYC and terms-of-service links for a customer,
//! and takes a customer's KYC data sent by API.

use async_trait::async_trait;
use domain::{CustomerType, KycLink, KycState, KycStatus, ProviderRef, RejectionReason, TosStatus};

use crate::kyc_submissions::{
    KycSubmissionRequest, KycSubmitError, SubmissionAccepted, TosLinkRequest,
};

/// What a provider needs to issue a KYC link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycLinkRequest {
    /// A key derived from our customer id: repeating a request with it never creates a
    /// second link at the provider.
    pub idempotency_key: String,
    /// The customer's full name, or a business's legal name.
    pub full_name: String,
    /// The customer's e-mail address.
    pub email: String,
    /// Individual or business.
    pub customer_type: CustomerType,
}

/// A link the provider issued (or, for a repeated request, issued before), with where the
/// verification behind it stands, translated into the service's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKycLink {
    /// The links and the provider's identifiers.
    pub link: KycLink,
    /// The verification's state as the provider reported it with the link.
    pub state: KycState,
}

/// Where a verification stands at the provider, as a poll reads it back, in the service's
/// vocabulary. A field the provider did not speak of is `None`; all `None` means "no
/// news" (the sandbox, whose state lives in this service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderKycState {
    /// The identity-verification status.
    pub kyc_status: Option<KycStatus>,
    /// The terms-of-service status.
    pub tos_status: Option<TosStatus>,
    /// The rejection reasons (an empty list clears them).
    pub rejection_reasons: Option<Vec<RejectionReason>>,
    /// The provider's customer id, when the provider reports one.
    pub provider_customer_id: Option<String>,
}

/// Why the provider did not issue a link.
#[derive(Debug, thiserror::Error)]
pub enum KycProviderError {
    /// The provider refused the customer's data (a 4xx about the request itself).
    #[error("the KYC provider rejected the request: {message}")]
    Rejected {
        /// The provider's short code, when it sent one.
        code: Option<String>,
        /// The provider's explanation, safe to show to the API client.
        message: String,
    },
    /// The provider did not answer within the configured time.
    #[error("the KYC provider did not answer in time")]
    Timeout,
    /// The provider could not be reached, answered 5xx, or refused our credentials.
    #[error("the KYC provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// A KYC provider such as Bridge.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait KycProvider: Send + Sync + 'static {
    /// A short stable name stored with each customer (`bridge`, `sandbox`).
    fn name(&self) -> &'static str;

    /// Issues (or, for a repeated idempotency key or an already known e-mail, returns the
    /// existing) KYC link for a customer.
    async fn create_kyc_link(
        &self,
        request: &KycLinkRequest,
    ) -> Result<IssuedKycLink, KycProviderError>;

    // Polling (the KYC lifecycle's reconciliation).

    /// Reads back where the verification behind `target` stands. One attempt: the poller
    /// retries in its next round. A value the provider sends that the service does not
    /// know is `Unavailable` (logged with the raw value by the adapter), never a guess.
    async fn fetch_kyc_state(
        &self,
        target: &ProviderRef,
    ) -> Result<ProviderKycState, KycProviderError>;

    /// Sends a customer's KYC data: updates the provider's customer when the request names
    /// one, else creates one. Repeating a request with the same data never creates a
    /// second customer.
    async fn submit_kyc(
        &self,
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, KycSubmitError>;

    /// A hosted terms-of-service link that sends the customer back to the request's
    /// `redirect_uri` with a `signed_agreement_id`.
    async fn create_tos_link(&self, request: &TosLinkRequest) -> Result<String, KycProviderError>;
}
