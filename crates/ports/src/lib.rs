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
pub mod kyc_submissions;
pub mod lifecycle;
pub mod mail;
pub mod outbox;
mod periodic;
pub mod provider_events;
pub mod repository;
pub mod webhooks;

pub use accounts::{
    AccountRepository, AccountService, AccountStatus, Authenticate, LoginError, SecretHasher,
};
pub use customers::{
    kyc_relink_idempotency_key, CreateCustomer, CreateCustomerError, CustomerPage, CustomerService,
    DeleteCustomer, DeleteCustomerError, ListCustomers, Precondition, ReadCustomers,
    ReadCustomersError, UpdateCustomer, UpdateCustomerError,
};
pub use events::{EventDraft, EventSubject, Events, NewEvent, Presenter};
pub use health::{OutboxBacklog, PoolState, StatisticsRefresh, StoreHealth, StoreStatistics};
pub use idempotency::{
    Begun, Fingerprint, HeldKey, Idempotency, IdempotencyCompletion, IdempotencyKey,
    IdempotencyPolicy, IdempotencyScope, IdempotencyStore, KeyClaim, KeyState, RecordedKey,
    Renderer, Reservation, Started, StoredResponse, Verdict,
};
pub use kyc::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, ProviderKycState};
pub use kyc_submissions::{
    AgreementAcceptance, ClaimOutcome, CustomerKycError, KycSubmissionRepository,
    KycSubmissionRequest, KycSubmissionService, KycSubmitError, SubmissionAccepted,
    SubmissionClaim, SubmissionFinish, SubmissionPolicy, SubmitKyc, SubmitKycError, TermsOfService,
    TosLinkRequest,
};
pub use lifecycle::{
    drain_updates, sandbox_link_id, ApplyError, ApplyOutcome, EventReceipt, KycChange,
    KycLifecycle, KycLifecycleService, KycOverview, KycReportRecord, KycReports, KycSyncQueue,
    KycSyncWorker, NoSyncObserver, ReadKyc, ReceiptRetention, Recorded, SyncClaim, SyncObserver,
    SyncRound, SyncSettings, SyncTarget, SANDBOX_PROVIDER,
};
pub use mail::{
    kyc_message_id, kyc_message_id_for_version, KycMailHandler, MailContent, MailError, Mailer,
    OutgoingMail,
};
pub use outbox::{
    AttemptReport, Attempted, ClaimRequest, Effects, JobEnd, JobHandler, JobId, JobKind, JobWork,
    Outbox, OutboxJob, OutboxWorker, RetryPolicy, RetrySchedule, WorkerSettings,
};
pub use provider_events::{EventRejection, ProviderEventVerifier};
pub use repository::{
    CustomerChange, CustomerCursor, CustomerDirectory, CustomerErasure, CustomerFilter,
    CustomerRepository, NewCustomerRecord, QueuedKycMail, RepositoryError,
};
pub use webhooks::{
    CreatedEndpoint, DeliveryError, DeliveryPage, DeliveryRecord, DeliveryRetention,
    DeliveryStatus, EndpointChange, EndpointError, EndpointPatch, ListDeliveries, ManageDeliveries,
    ManageWebhookEndpoints, NewEndpoint, SecretBox, WebhookDeliveries, WebhookDeliveryHandler,
    WebhookEndpointRepository, WebhookEndpointService, WebhookSender, WebhookSettings,
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
pub use health::{MockStoreHealth, MockStoreStatistics};
#[cfg(any(test, feature = "mock"))]
pub use idempotency::MockIdempotencyStore;
#[cfg(any(test, feature = "mock"))]
pub use kyc::MockKycProvider;
#[cfg(any(test, feature = "mock"))]
pub use kyc_submissions::{MockKycSubmissionRepository, MockSubmitKyc, MockTermsOfService};
#[cfg(any(test, feature = "mock"))]
pub use lifecycle::{MockKycLifecycle, MockKycReports, MockKycSyncQueue, MockReadKyc};
#[cfg(any(test, feature = "mock"))]
pub use mail::MockMailer;
#[cfg(any(test, feature = "mock"))]
pub use outbox::{MockJobHandler, MockOutbox};
#[cfg(any(test, feature = "mock"))]
pub use provider_events::MockProviderEventVerifier;
#[cfg(any(test, feature = "mock"))]
pub use repository::{MockCustomerDirectory, MockCustomerRepository};
#[cfg(any(test, feature = "mock"))]
pub use webhooks::{
    MockManageDeliveries, MockManageWebhookEndpoints, MockSecretBox, MockWebhookDeliveries,
    MockWebhookEndpointRepository, MockWebhookSender,
};
