//! The customer use cases: create (check the address is free, obtain a KYC link, store)
//! and read here; change (`update`) and erase (`erase`) in their own modules.

mod erase;
mod update;

pub use erase::{DeleteCustomer, DeleteCustomerError};
pub use update::{kyc_relink_idempotency_key, Precondition, UpdateCustomer, UpdateCustomerError};

#[cfg(any(test, feature = "mock"))]
pub use erase::MockDeleteCustomer;
#[cfg(any(test, feature = "mock"))]
pub use update::MockUpdateCustomer;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, Customer, CustomerId, KycMailStatus, KycOrder, NewCustomer, WebhookEventType,
};

use crate::{
    kyc_message_id, CustomerCursor, CustomerFilter, CustomerRepository, Events, KycLinkRequest,
    KycProvider, KycProviderError, NewCustomerRecord, QueuedKycMail, RepositoryError, Reservation,
};

/// Why a customer could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    /// The account already has a customer with this e-mail address.
    #[error("a customer with this e-mail address already exists")]
    Duplicate,
    /// The request was a retry of one whose customer has since been erased (its reserved
    /// id is a tombstone's): the person is not created again.
    #[error("the customer this request created was erased")]
    Erased,
    /// The KYC provider refused the customer's data.
    #[error("the KYC provider rejected the customer: {message}")]
    KycRejected {
        /// The provider's explanation, safe to show to the client.
        message: String,
    },
    /// The KYC provider did not answer in time.
    #[error("the KYC provider did not answer in time")]
    KycTimeout,
    /// The KYC provider is unreachable or failing.
    #[error("the KYC provider is unavailable")]
    KycUnavailable(#[source] anyhow::Error),
    /// The customer store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RepositoryError> for CreateCustomerError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Duplicate => Self::Duplicate,
            RepositoryError::Conflict => Self::Unexpected(anyhow::anyhow!("conflict on insert")),
            RepositoryError::Erased => Self::Erased,
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
        }
    }
}

impl From<KycProviderError> for CreateCustomerError {
    fn from(e: KycProviderError) -> Self {
        match e {
            KycProviderError::Rejected { message, .. } => Self::KycRejected { message },
            KycProviderError::Timeout => Self::KycTimeout,
            KycProviderError::Unavailable(cause) => Self::KycUnavailable(cause),
        }
    }
}

/// The inbound port the HTTP layer calls. A trait so handlers can be tested with a mock.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CreateCustomer: Send + Sync + 'static {
    /// Registers a customer for `account_id`: obtains its KYC link and stores it.
    async fn create_customer(
        &self,
        account_id: AccountId,
        input: NewCustomer,
    ) -> Result<Customer, CreateCustomerError>;

    /// As [`Self::create_customer`], for a request under an idempotency key: the customer
    /// gets the key's reserved id (so the KYC provider sees the same idempotency key on
    /// every attempt of the request), and the key's outcome, rendered from the new
    /// customer, is written in the transaction that stores the customer.
    async fn create_customer_reserved(
        &self,
        account_id: AccountId,
        input: NewCustomer,
        reservation: Reservation<Customer>,
    ) -> Result<Customer, CreateCustomerError>;
}

/// A page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCustomers {
    /// Page size, 1..=100.
    pub limit: u32,
    /// Continue after this customer (the last one of the previous page).
    pub starting_after: Option<CustomerId>,
    /// Which customers.
    pub filter: CustomerFilter,
}

/// One page of customers, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPage {
    /// The customers.
    pub customers: Vec<Customer>,
    /// Whether more follow.
    pub has_more: bool,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadCustomersError {
    /// `starting_after` names no customer of the account.
    #[error("starting_after does not name a customer of this account")]
    UnknownCursor,
    /// The store is unreachable.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for ReadCustomersError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Duplicate => Self::Unexpected(anyhow::anyhow!("duplicate on read")),
            RepositoryError::Conflict => Self::Unexpected(anyhow::anyhow!("conflict on read")),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The read side: one customer, or a page of them. Only ever the caller's own.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReadCustomers: Send + Sync + 'static {
    /// The account's customer with this id.
    async fn get_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, ReadCustomersError>;

    /// A page of the account's customers, newest first.
    async fn list_customers(
        &self,
        account_id: AccountId,
        query: ListCustomers,
    ) -> Result<CustomerPage, ReadCustomersError>;
}

/// The application service, wired at start-up to whichever adapters are configured.
#[derive(Clone)]
pub struct CustomerService {
    repository: Arc<dyn CustomerRepository>,
    kyc: Arc<dyn KycProvider>,
    events: Events,
}

impl CustomerService {
    /// Builds the service over a repository, a KYC provider, and the maker of the events
    /// its changes cause.
    pub fn new(
        repository: Arc<dyn CustomerRepository>,
        kyc: Arc<dyn KycProvider>,
        events: Events,
    ) -> Self {
        Self {
            repository,
            kyc,
            events,
        }
    }
}

/// Now, to the millisecond: what the API shows, and what every store keeps exactly.
fn now_ms() -> anyhow::Result<DateTime<Utc>> {
    Ok(Utc::now().duration_trunc(TimeDelta::milliseconds(1))?)
}

/// The idempotency key sent to the KYC provider for a customer: stable for the customer,
/// so any retry of the provider call returns the same link.
pub fn kyc_idempotency_key(id: CustomerId) -> String {
    format!("customer-{id}")
}

#[async_trait]
impl CreateCustomer for CustomerService {
    async fn create_customer(
        &self,
        account_id: AccountId,
        input: NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        self.create(account_id, input, CustomerId::new_random(), None)
            .await
    }

    async fn create_customer_reserved(
        &self,
        account_id: AccountId,
        input: NewCustomer,
        reservation: Reservation<Customer>,
    ) -> Result<Customer, CreateCustomerError> {
        let id = CustomerId(reservation.reserved_id());
        self.create(account_id, input, id, Some(reservation)).await
    }
}

impl CustomerService {
    #[tracing::instrument(name = "create_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn create(
        &self,
        account_id: AccountId,
        input: NewCustomer,
        id: CustomerId,
        reservation: Option<Reservation<Customer>>,
    ) -> Result<Customer, CreateCustomerError> {
        // Checked before calling the provider so a plain duplicate costs no KYC link.
        // The store's unique index still decides races between concurrent requests.
        if self
            .repository
            .email_exists(account_id, &input.email)
            .await?
        {
            return Err(CreateCustomerError::Duplicate);
        }

        let request = KycLinkRequest {
            idempotency_key: kyc_idempotency_key(id),
            full_name: input.name.as_str().to_owned(),
            email: input.email.as_str().to_owned(),
            customer_type: input.customer_type,
        };
        // No database connection is held while the provider is called.
        let issued = self.kyc.create_kyc_link(&request).await?;

        // Millisecond precision: what the API shows, and what every store keeps exactly.
        let created_at = Utc::now()
            .duration_trunc(TimeDelta::milliseconds(1))
            .map_err(|e| CreateCustomerError::Unexpected(e.into()))?;
        let customer = Customer {
            id,
            account_id,
            name: input.name,
            email: input.email,
            phone: input.phone,
            country: input.country,
            customer_type: input.customer_type,
            send_kyc_mail: input.send_kyc_mail,
            kyc_mail_status: KycMailStatus::initial(input.send_kyc_mail),
            kyc_provider: self.kyc.name().to_owned(),
            kyc: issued.link,
            kyc_state: issued.state,
            // The provider's answer describes the verification as of now.
            kyc_as_of: KycOrder::at(created_at),
            last_synced_at: None,
            version: 1,
            created_at,
            updated_at: None,
        };
        // A customer who asked for the KYC mail gets its outbox job in the same write, due
        // at once; the Message-ID is fixed here so that every attempt sends the same message.
        let created = self.events.about(
            WebhookEventType::CustomerCreated,
            &customer,
            None,
            created_at,
        );
        let mut record = NewCustomerRecord::new(customer).with_event(created);
        if record.customer.send_kyc_mail {
            record = record.with_kyc_mail(QueuedKycMail {
                message_id: kyc_message_id(id),
                due_at: created_at,
            });
        }
        // The key's outcome is the response rendered from this very customer, written in
        // the same transaction: a replay shows exactly what the first answer showed.
        if let Some(reservation) = &reservation {
            let completion = reservation.completion(&record.customer, Some(id), created_at);
            record = record.with_idempotency(completion);
        }
        self.repository.insert(&record).await?;
        tracing::info!("customer created");
        Ok(record.customer)
    }
}

#[async_trait]
impl ReadCustomers for CustomerService {
    #[tracing::instrument(name = "get_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn get_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
    ) -> Result<Option<Customer>, ReadCustomersError> {
        Ok(self.repository.find(account_id, id).await?)
    }

    #[tracing::instrument(name = "list_customers", skip_all, fields(account_id = %account_id))]
    async fn list_customers(
        &self,
        account_id: AccountId,
        query: ListCustomers,
    ) -> Result<CustomerPage, ReadCustomersError> {
        let after = match query.starting_after {
            None => None,
            Some(id) => {
                let cursor = self
                    .repository
                    .find(account_id, id)
                    .await?
                    .ok_or(ReadCustomersError::UnknownCursor)?;
                Some(CustomerCursor {
                    created_at: cursor.created_at,
                    id: cursor.id,
                })
            }
        };
        // One more than asked tells whether another page follows.
        let mut customers = self
            .repository
            .list(
                account_id,
                &query.filter,
                after,
                query.limit.saturating_add(1),
            )
            .await?;
        let has_more = customers.len() > query.limit as usize;
        customers.truncate(query.limit as usize);
        Ok(CustomerPage {
            customers,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests;
