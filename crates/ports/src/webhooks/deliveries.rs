//! An endpoint's deliveries as its account sees them: a page of them, newest first, and
//! retrying one (replaying an event).

use async_trait::async_trait;
use domain::{AccountId, EndpointId};

use super::endpoints::now;
use super::{DeliveryCursor, DeliveryRecord, RetryOutcome, WebhookEndpointService};
use crate::{JobId, RepositoryError};

/// A page of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListDeliveries {
    /// Page size, 1..=100.
    pub limit: u32,
    /// Continue after this delivery (the last one of the previous page).
    pub starting_after: Option<JobId>,
}

/// One page of deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPage {
    /// The deliveries.
    pub deliveries: Vec<DeliveryRecord>,
    /// Whether more follow.
    pub has_more: bool,
}

/// Why a delivery operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The account has no such endpoint, or the endpoint no such delivery.
    #[error("no such webhook endpoint or delivery")]
    NotFound,
    /// `starting_after` names no delivery of this endpoint.
    #[error("starting_after does not name a delivery of this endpoint")]
    UnknownCursor,
    /// The delivery is being attempted right now.
    #[error("the delivery is being attempted right now")]
    InFlight,
    /// The endpoint is disabled, so a retry could only fail.
    #[error("the endpoint is disabled")]
    EndpointDisabled,
    /// The store is unreachable.
    #[error("the webhook store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for DeliveryError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            // A duplicate or a lost race cannot happen here: report it, never guess.
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The inbound port the HTTP layer calls for deliveries.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ManageDeliveries: Send + Sync + 'static {
    /// A page of the endpoint's deliveries, newest first.
    async fn list_deliveries(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        query: ListDeliveries,
    ) -> Result<DeliveryPage, DeliveryError>;

    /// Queues a delivery again, due now, with a fresh retry schedule: the same event (same
    /// `webhook-id`, same body), signed afresh.
    async fn retry_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        delivery: JobId,
    ) -> Result<DeliveryRecord, DeliveryError>;
}

#[async_trait]
impl ManageDeliveries for WebhookEndpointService {
    #[tracing::instrument(name = "list_webhook_deliveries", skip_all, fields(account_id = %account_id, endpoint_id = %endpoint))]
    async fn list_deliveries(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        query: ListDeliveries,
    ) -> Result<DeliveryPage, DeliveryError> {
        if self
            .endpoints
            .find_endpoint(account_id, endpoint)
            .await?
            .is_none()
        {
            return Err(DeliveryError::NotFound);
        }
        let after = match query.starting_after {
            None => None,
            Some(id) => {
                let cursor = self
                    .endpoints
                    .find_delivery(account_id, endpoint, id)
                    .await?
                    .ok_or(DeliveryError::UnknownCursor)?;
                Some(DeliveryCursor {
                    created_at: cursor.created_at,
                    id: cursor.id,
                })
            }
        };
        // One more than asked tells whether another page follows.
        let mut deliveries = self
            .endpoints
            .list_deliveries(account_id, endpoint, after, query.limit.saturating_add(1))
            .await?;
        let has_more = deliveries.len() > query.limit as usize;
        deliveries.truncate(query.limit as usize);
        Ok(DeliveryPage {
            deliveries,
            has_more,
        })
    }

    #[tracing::instrument(name = "retry_webhook_delivery", skip_all, fields(account_id = %account_id, endpoint_id = %endpoint, delivery_id = %delivery))]
    async fn retry_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        delivery: JobId,
    ) -> Result<DeliveryRecord, DeliveryError> {
        let found = self
            .endpoints
            .find_endpoint(account_id, endpoint)
            .await?
            .ok_or(DeliveryError::NotFound)?;
        if !found.enabled {
            return Err(DeliveryError::EndpointDisabled);
        }
        let at = now().map_err(DeliveryError::Unexpected)?;
        match self
            .endpoints
            .retry_delivery(account_id, endpoint, delivery, at)
            .await?
        {
            RetryOutcome::Queued(record) => {
                tracing::info!("webhook delivery queued again");
                Ok(record)
            }
            RetryOutcome::InFlight => Err(DeliveryError::InFlight),
            RetryOutcome::NotFound => Err(DeliveryError::NotFound),
        }
    }
}
