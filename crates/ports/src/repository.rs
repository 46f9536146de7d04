//! The customer repository port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{AccountId, Customer, CustomerEmail, CustomerId, KycStatus};

use crate::{IdempotencyCompletion, NewEvent};

mod writes;

pub use writes::{CustomerChange, CustomerErasure};

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The account already has a customer with this e-mail address (case-insensitively).
    #[error("a customer with this e-mail address already exists in the account")]
    Duplicate,
    /// A compare-and-set on the customer's `version` found that it had moved: someone else
    /// changed the customer meanwhile. The use case re-reads and decides again.
    #[error("the customer was changed concurrently")]
    Conflict,
    /// The store could not be reached in time (pool exhausted, database down).
    #[error("the customer store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The id belongs to a customer that was erased: it is never used again.
    #[error("the customer was erased")]
    Erased,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Everything a customer's registration writes, in one transaction: the customer and
/// whatever the use case decided must happen because of it. The store writes exactly what
/// it is given and decides nothing. Built with [`NewCustomerRecord::new`] and the `with_`
/// methods, so that a new part (an outgoing event, say) does not break existing callers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewCustomerRecord {
    /// The customer.
    pub customer: Customer,
    /// The "send the KYC mail" outbox job, when the customer asked for the mail.
    pub kyc_mail: Option<QueuedKycMail>,
    /// Events the registration causes (`customer.created`).
    pub events: Vec<NewEvent>,
    /// The outcome of the request's idempotency key, when it carried one: the key is
    /// finished in the transaction that creates the customer.
    pub idempotency: Option<IdempotencyCompletion>,
}

impl NewCustomerRecord {
    /// The customer alone, with nothing queued.
    pub fn new(customer: Customer) -> Self {
        Self {
            customer,
            kyc_mail: None,
            events: Vec::new(),
            idempotency: None,
        }
    }

    /// Writes `event` with the customer.
    pub fn with_event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Queues the KYC mail with the customer.
    pub fn with_kyc_mail(mut self, mail: QueuedKycMail) -> Self {
        self.kyc_mail = Some(mail);
        self
    }

    /// Finishes the request's idempotency key with the customer.
    pub fn with_idempotency(mut self, completion: IdempotencyCompletion) -> Self {
        self.idempotency = Some(completion);
        self
    }
}

/// A KYC mail job to queue with its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedKycMail {
    /// The mail's `Message-ID`, fixed before the first attempt so that a resent mail
    /// is recognisably the same message.
    pub message_id: String,
    /// When the first attempt is due.
    pub due_at: DateTime<Utc>,
}

/// Which of an account's customers a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Exactly this address, compared case-insensitively.
    pub email: Option<String>,
    /// Exactly this KYC status.
    pub kyc_status: Option<KycStatus>,
}

/// A position in the newest-first order: strictly older than this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerCursor {
    /// The cursor customer's creation time.
    pub created_at: DateTime<Utc>,
    /// The cursor customer's id (breaks ties between equal times).
    pub id: CustomerId,
}

/// Where customers are kept. Every method is scoped to one account: no call can see or
/// touch another account's customers.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync + 'static {
    /// Stores a new customer and, when the record carries them, its "send the KYC mail"
    /// outbox job and its idempotency key's outcome — in one transaction, so there is never
    /// one without the other. The key's outcome is written only while the key is still held
    /// under the completion's lease; otherwise nothing is written and the call fails with
    /// [`RepositoryError::Unexpected`]. Fails with [`RepositoryError::Erased`], writing
    /// nothing, when the id is an erased customer's. Fails
    /// with [`RepositoryError::Duplicate`] when the account already has a customer with
    /// the same e-mail address, compared case-insensitively; this is enforced by the
    /// store, so it holds under concurrent inserts too.
    async fn insert(&self, record: &NewCustomerRecord) -> Result<(), RepositoryError>;

    /// Whether the account already has a customer with this address (case-insensitively).
    async fn email_exists(
        &self,
        account_id: AccountId,
        email: &CustomerEmail,
    ) -> Result<bool, RepositoryError>;

    /// Up to `limit` of the account's customers matching `filter`, newest first (by
    /// creation time, then id), strictly after `after` in that order.
    async fn list(
        &self,
        account_id: AccountId,
        filter: &CustomerFilter,
        after: Option<CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<Customer>, RepositoryError>;

    /// The account's customer with this id, if any.
    async fn find(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, RepositoryError>;

    /// Writes `change` — the customer as changed, its replacement KYC mail, its events and
    /// its idempotency key's outcome — in one transaction, if the customer of
    /// `change.new.account_id` with id `change.new.id` still has `change.expected_version`.
    /// Otherwise (another change came first, or the customer is gone) nothing is written
    /// and the call fails with [`RepositoryError::Conflict`]. Fails with
    /// [`RepositoryError::Duplicate`] when the new e-mail address is another customer's.
    async fn update(&self, change: &CustomerChange) -> Result<(), RepositoryError>;

    /// Erases the customer as `erasure` says, in one transaction, if the account's customer
    /// still has `erasure.expected_version`; otherwise nothing is written and the call fails
    /// with [`RepositoryError::Conflict`]. After it, nothing the store keeps holds the
    /// customer's personal data, and [`Self::insert`] refuses the id with
    /// [`RepositoryError::Erased`].
    async fn erase(&self, erasure: &CustomerErasure) -> Result<(), RepositoryError>;
}

/// Lookups for the service's own workers (outbox handlers, the KYC lifecycle), which act
/// for no account and so are not account-scoped. Never reachable from a request handler:
/// those go through [`CustomerRepository`], which is.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CustomerDirectory: Send + Sync + 'static {
    /// The customer with this id, of whichever account.
    async fn customer_by_id(&self, id: CustomerId) -> Result<Option<Customer>, RepositoryError>;
}
