//! The "delete customer" use case: erasure (GDPR Art. 17). The store deletes the customer
//! and everything holding its personal data in one transaction, keeps a tombstone, and
//! writes `customer.deleted`, which carries the id alone.

use async_trait::async_trait;
use domain::{AccountId, CustomerId};

use super::update::{Precondition, MAX_ATTEMPTS};
use super::{now_ms, CustomerService};
use crate::{CustomerErasure, RepositoryError};

/// Why a customer could not be erased.
#[derive(Debug, thiserror::Error)]
pub enum DeleteCustomerError {
    /// The account has no customer with this id (never had, or it is erased already).
    #[error("no such customer")]
    NotFound,
    /// The customer's version is not one the client named.
    #[error("the customer's version does not match the precondition")]
    PreconditionFailed,
    /// Other changes to the customer kept coming first; nothing was erased.
    #[error("the customer kept changing while it was being erased")]
    Contended,
    /// The customer store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for DeleteCustomerError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The inbound port the HTTP layer calls to erase a customer.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DeleteCustomer: Send + Sync + 'static {
    /// Erases the account's customer `id`, if its version meets `precondition`.
    async fn delete_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
        precondition: Precondition,
    ) -> Result<(), DeleteCustomerError>;
}

#[async_trait]
impl DeleteCustomer for CustomerService {
    #[tracing::instrument(name = "delete_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn delete_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
        precondition: Precondition,
    ) -> Result<(), DeleteCustomerError> {
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .repository
                .find(account_id, id)
                .await?
                .ok_or(DeleteCustomerError::NotFound)?;
            if !precondition.admits(current.version) {
                return Err(DeleteCustomerError::PreconditionFailed);
            }
            let at = now_ms().map_err(DeleteCustomerError::Unexpected)?;
            let erasure = CustomerErasure::of(&current, at)
                .with_event(self.events.erased(account_id, id, at));
            match self.repository.erase(&erasure).await {
                Ok(()) => {
                    tracing::info!("customer erased");
                    return Ok(());
                }
                // Erasure does not depend on what changed; only a client that named a
                // version is told it moved.
                Err(RepositoryError::Conflict) if precondition == Precondition::Any => {}
                Err(RepositoryError::Conflict) => {
                    return Err(DeleteCustomerError::PreconditionFailed)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeleteCustomerError::Contended)
    }
}
