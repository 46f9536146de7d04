//! The application core: the outbound ports (traits the adapters implement) and the use
//! cases that drive them. No technology lives here — no SQL, no HTTP, no password-hashing
//! algorithm, no HTML; those are adapters behind these traits.
//!
//! A use case depends on port traits only, so it can be unit-tested with the `mock`
//! feature's mockall mocks and wired to any adapter at start-up.

pub mod accounts;
pub mod customers;
pub mod health;
pub mod kyc;
pub mod kyc_submissions;
pub mod mail;
pub mod repository;

pub use accounts::{
    AccountRepository, AccountService, AccountStatus, Authenticate, LoginError, SecretHasher,
};
pub use customers::{
    CreateCustomer, CreateCustomerError, CustomerPage, CustomerService, ListCustomers,
    ReadCustomers, ReadCustomersError,
};
pub use health::{OutboxBacklog, PoolState, StoreHealth};
pub use kyc::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError};
pub use kyc_submissions::{
    ClaimOutcome, CustomerKycChange, CustomerKycError, KycSubmissionRepository,
    KycSubmissionRequest, KycSubmissionService, KycSubmitError, SubmissionAccepted,
    SubmissionClaim, SubmissionFinish, SubmissionPolicy, SubmitKyc, SubmitKycError, TermsOfService,
    TosLinkRequest,
};
pub use mail::{
    kyc_message_id, KycMailJob, KycMailWorker, MailContent, MailError, MailOutbox, Mailer,
    OutgoingMail, RetryPolicy,
};
pub use repository::{
    CustomerCursor, CustomerFilter, CustomerRepository, NewCustomerRecord, QueuedKycMail,
    RepositoryError,
};

#[cfg(any(test, feature = "mock"))]
pub use accounts::{MockAccountRepository, MockAccountStatus, MockAuthenticate, MockSecretHasher};
#[cfg(any(test, feature = "mock"))]
pub use customers::{MockCreateCustomer, MockReadCustomers};
#[cfg(any(test, feature = "mock"))]
pub use health::MockStoreHealth;
#[cfg(any(test, feature = "mock"))]
pub use kyc::MockKycProvider;
#[cfg(any(test, feature = "mock"))]
pub use kyc_submissions::{MockKycSubmissionRepository, MockSubmitKyc, MockTermsOfService};
#[cfg(any(test, feature = "mock"))]
pub use mail::{MockMailOutbox, MockMailer};
#[cfg(any(test, feature = "mock"))]
pub use repository::MockCustomerRepository;
