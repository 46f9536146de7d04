//! The application core: the outbound ports (traits the adapters implement) and the use
//! cases that drive them. No technology lives here — no SQL, no HTTP, no password-hashing
//! algorithm, no HTML; those are adapters behind these traits.
//!
//! A use case depends on port traits only, so it can be unit-tested with the `mock`
//! feature's mockall mocks and wired to any adapter at start-up.

pub mod accounts;
pub mod customers;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod kyc;
pub mod mail;
pub mod outbox;
pub mod repository;

pub use accounts::{
    AccountRepository, AccountService, AccountStatus, Authenticate, LoginError, SecretHasher,
};
pub use customers::{
    kyc_relink_idempotency_key, CreateCustomer, CreateCustomerError, CustomerPage, CustomerService,
    DeleteCustomer, DeleteCustomerError, ListCustomers, Precondition, ReadCustomers,
    ReadCustomersError, UpdateCustomer, UpdateCustomerError,
};
pub use events::{EventDraft, EventSubject, Events, NewEvent, Presenter};
pub use health::{OutboxBacklog, PoolState, StoreHealth};
pub use idempotency::{
    Begun, Fingerprint, HeldKey, Idempotency, IdempotencyCompletion, IdempotencyKey,
    IdempotencyPolicy, IdempotencyScope, IdempotencyStore, KeyClaim, KeyState, RecordedKey,
    Renderer, Reservation, Started, StoredResponse, Verdict,
};
pub use kyc::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError};
pub use mail::{
    kyc_message_id, kyc_message_id_for_version, KycMailHandler, MailContent, MailError, Mailer,
    OutgoingMail,
};
pub use outbox::{
    AttemptReport, Attempted, ClaimRequest, Effects, JobEnd, JobHandler, JobId, JobKind, JobWork,
    Outbox, OutboxJob, OutboxWorker, RetryPolicy, RetrySchedule, WorkerSettings,
};
pub use repository::{
    CustomerChange, CustomerCursor, CustomerDirectory, CustomerErasure, CustomerFilter,
    CustomerRepository, NewCustomerRecord, QueuedKycMail, RepositoryError,
};

#[cfg(any(test, feature = "mock"))]
pub use accounts::{MockAccountRepository, MockAccountStatus, MockAuthenticate, MockSecretHasher};
#[cfg(any(test, feature = "mock"))]
pub use customers::{
    MockCreateCustomer, MockDeleteCustomer, MockReadCustomers, MockUpdateCustomer,
};
#[cfg(any(test, feature = "mock"))]
pub use events::MockPresenter;
#[cfg(any(test, feature = "mock"))]
pub use health::MockStoreHealth;
#[cfg(any(test, feature = "mock"))]
pub use idempotency::MockIdempotencyStore;
#[cfg(any(test, feature = "mock"))]
pub use kyc::MockKycProvider;
#[cfg(any(test, feature = "mock"))]
pub use mail::MockMailer;
#[cfg(any(test, feature = "mock"))]
pub use outbox::{MockJobHandler, MockOutbox};
#[cfg(any(test, feature = "mock"))]
pub use repository::{MockCustomerDirectory, MockCustomerRepository};
