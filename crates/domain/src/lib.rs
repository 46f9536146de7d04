//! The customer-onboarding domain: the customer entity, its value types and their validation.
//!
//! Everything here is pure: no I/O, no framework types. Values are valid by construction,
//! so code that holds a [`CustomerEmail`] never has to check it again.

mod account;
mod customer;
mod fields;
mod kyc;
mod text;
mod validation;
mod webhook;

pub use account::{Account, AccountName};
pub use customer::{
    AccountId, Customer, CustomerId, CustomerType, CustomerUpdate, KycLink, KycMailStatus,
    NewCustomer,
};
pub use fields::{CountryCode, CustomerEmail, CustomerName, PhoneNumber, MAX_EMAIL_CHARS};
pub use kyc::{
    KycOrder, KycSource, KycState, KycStatus, KycUpdate, ProviderRef, RejectionReason, TosStatus,
};
pub use validation::{FieldError, ValidationErrors};
pub use webhook::{EndpointId, EventFilter, EventId, WebhookEventType};
