//! The customer-onboarding domain: the customer entity, its value types and their validation.
//!
//! Everything here is pure: no I/O, no framework types. Values are valid by construction,
//! so code that holds a [`CustomerEmail`] never has to check it again.

mod account;
mod customer;
mod endpoint;
mod fields;
mod history;
mod kyc;
mod signing_secret;
pub mod submission;
mod text;
mod validation;
mod webhook;

pub use account::{Account, AccountName};
pub use customer::{
    AccountId, Customer, CustomerId, CustomerType, CustomerUpdate, KycLink, KycMailStatus,
    NewCustomer,
};
pub use endpoint::{
    EndpointDescription, UrlRules, WebhookEndpoint, WebhookHost, WebhookUrl, MAX_DESCRIPTION_CHARS,
    MAX_URL_CHARS,
};
pub use fields::{CountryCode, CustomerEmail, CustomerName, PhoneNumber, MAX_EMAIL_CHARS};
pub use history::KycHistoryEntry;
pub use kyc::{
    KycOrder, KycSource, KycState, KycStatus, KycUpdate, ProviderRef, RejectionReason, TosStatus,
};
pub use signing_secret::{SigningSecret, SIGNING_KEY_BYTES, SIGNING_SECRET_PREFIX};
pub use submission::{
    KycSubmission, KycSubmissionRecord, SignedAgreementId, SubmissionId, SubmissionOutcome,
    SubmissionSummary,
};
pub use validation::{FieldError, ValidationErrors};
pub use webhook::{EndpointId, EventFilter, EventId, WebhookEventType};
