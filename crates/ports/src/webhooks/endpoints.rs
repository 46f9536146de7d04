//! Managing an account's webhook endpoints: registering one (with its signing secret,
//! shown once), reading, changing, deleting, and rotating the secret with an overlap.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::{
    AccountId, EndpointDescription, EndpointId, EventFilter, SigningSecret, UrlRules,
    WebhookEndpoint, WebhookUrl, SIGNING_KEY_BYTES,
};
use rand::RngCore as _;
use zeroize::Zeroizing;

use super::{
    EndpointChange, InsertEndpointError, SecretBox, WebhookEndpointRepository, WebhookSender,
};
use crate::{RepositoryError, Reservation};

/// The deployment's webhook rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// What endpoint URLs may be.
    pub url_rules: UrlRules,
    /// Most endpoints one account may have.
    pub max_endpoints_per_account: u32,
    /// How long a rotated-out secret keeps signing.
    pub secret_overlap: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url_rules: UrlRules::default(),
            max_endpoints_per_account: 10,
            secret_overlap: Duration::from_secs(24 * 3600),
        }
    }
}

/// An endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    /// Where events go.
    pub url: WebhookUrl,
    /// For people.
    pub description: EndpointDescription,
    /// Which events it receives.
    pub filter: EventFilter,
}

/// The change a client asks for; what it leaves out stays.
pub type EndpointPatch = EndpointChange;

/// An endpoint with its signing secret in the clear: the one moment the account sees it
/// (registration and rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its (new) signing secret.
    pub secret: SigningSecret,
}

/// Why an endpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The account has no such endpoint.
    #[error("no such webhook endpoint")]
    NotFound,
    /// The URL points somewhere the service does not send to; the reason is for the client.
    #[error("the URL is refused: {0}")]
    UrlRefused(String),
    /// The account has as many endpoints as it may.
    #[error("the account already has {limit} webhook endpoints")]
    LimitReached {
        /// The limit.
        limit: u32,
    },
    /// The store is unreachable.
    #[error("the webhook store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for EndpointError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            // A duplicate or a lost race cannot happen here: report it, never guess.
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The inbound port the HTTP layer calls for endpoints. Every call is for one account and
/// sees only its endpoints.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ManageWebhookEndpoints: Send + Sync + 'static {
    /// The rules endpoint URLs are held to, so the HTTP layer can report every bad field
    /// of a request at once.
    fn url_rules(&self) -> UrlRules;

    /// Registers an endpoint with a new signing secret.
    async fn create_endpoint(
        &self,
        account_id: AccountId,
        input: NewEndpoint,
    ) -> Result<CreatedEndpoint, EndpointError>;

    /// As [`Self::create_endpoint`], for a request under an idempotency key: the endpoint
    /// gets the key's reserved id, and the key's outcome — rendered from the new endpoint by
    /// the reservation, which keeps no secret — is written in the transaction that stores
    /// the endpoint.
    async fn create_endpoint_reserved(
        &self,
        account_id: AccountId,
        input: NewEndpoint,
        reservation: Reservation<CreatedEndpoint>,
    ) -> Result<CreatedEndpoint, EndpointError>;

    /// The account's endpoints, oldest first.
    async fn list_endpoints(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<WebhookEndpoint>, EndpointError>;

    /// One endpoint.
    async fn get_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<WebhookEndpoint, EndpointError>;

    /// Changes what `patch` names.
    async fn update_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
        patch: EndpointPatch,
    ) -> Result<WebhookEndpoint, EndpointError>;

    /// Deletes an endpoint with its deliveries.
    async fn delete_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<(), EndpointError>;

    /// Gives the endpoint a new signing secret; the old one keeps signing for the overlap.
    async fn rotate_secret(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<CreatedEndpoint, EndpointError>;
}

/// The webhook use cases, wired at start-up to the store, the secret box and the sender.
#[derive(Clone)]
pub struct WebhookEndpointService {
    pub(super) endpoints: Arc<dyn WebhookEndpointRepository>,
    secrets: Arc<dyn SecretBox>,
    sender: Arc<dyn WebhookSender>,
    settings: WebhookSettings,
}

impl WebhookEndpointService {
    /// The use cases over these ports.
    pub fn new(
        endpoints: Arc<dyn WebhookEndpointRepository>,
        secrets: Arc<dyn SecretBox>,
        sender: Arc<dyn WebhookSender>,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            endpoints,
            secrets,
            sender,
            settings,
        }
    }

    async fn check_destination(&self, url: &WebhookUrl) -> Result<(), EndpointError> {
        self.sender
            .check_destination(url)
            .await
            .map_err(|refused| EndpointError::UrlRefused(refused.0))
    }

    /// A new secret for `endpoint`, and its sealed form.
    fn new_secret(
        &self,
        endpoint: EndpointId,
    ) -> Result<(SigningSecret, super::SealedSecret), EndpointError> {
        let mut key = Zeroizing::new([0u8; SIGNING_KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let secret = SigningSecret::from_key(&key);
        let sealed = self
            .secrets
            .seal(&secret, endpoint)
            .map_err(|e| EndpointError::Unexpected(anyhow::Error::new(e)))?;
        Ok((secret, sealed))
    }
}

/// Now, to the millisecond: what the API shows and every store keeps exactly.
pub(super) fn now() -> Result<DateTime<Utc>, anyhow::Error> {
    Ok(Utc::now().duration_trunc(TimeDelta::milliseconds(1))?)
}

impl WebhookEndpointService {
    /// Registers an endpoint under the id `id`; with a reservation, the key's outcome is
    /// written with it.
    #[tracing::instrument(name = "create_webhook_endpoint", skip_all, fields(account_id = %account_id, endpoint_id = %id))]
    async fn create(
        &self,
        account_id: AccountId,
        input: NewEndpoint,
        id: EndpointId,
        reservation: Option<Reservation<CreatedEndpoint>>,
    ) -> Result<CreatedEndpoint, EndpointError> {
        self.check_destination(&input.url).await?;
        let (secret, sealed) = self.new_secret(id)?;
        let endpoint = WebhookEndpoint {
            id,
            account_id,
            url: input.url,
            description: input.description,
            filter: input.filter,
            enabled: true,
            created_at: now().map_err(EndpointError::Unexpected)?,
            updated_at: None,
        };
        let limit = self.settings.max_endpoints_per_account;
        let created = CreatedEndpoint { endpoint, secret };
        // The key's outcome is the answer rendered from this very endpoint (its secret
        // withheld by the reservation's renderer), written with it.
        let idempotency =
            reservation.map(|r| r.completion(&created, None, created.endpoint.created_at));
        match self
            .endpoints
            .insert_endpoint(&created.endpoint, &sealed, limit, idempotency)
            .await
        {
            Ok(()) => {}
            Err(InsertEndpointError::LimitReached) => {
                return Err(EndpointError::LimitReached { limit })
            }
            Err(InsertEndpointError::Store(e)) => return Err(e.into()),
        }
        tracing::info!("webhook endpoint registered");
        Ok(created)
    }
}

#[async_trait]
impl ManageWebhookEndpoints for WebhookEndpointService {
    fn url_rules(&self) -> UrlRules {
        self.settings.url_rules
    }

    async fn create_endpoint(
        &self,
        account_id: AccountId,
        input: NewEndpoint,
    ) -> Result<CreatedEndpoint, EndpointError> {
        self.create(account_id, input, EndpointId::new_random(), None)
            .await
    }

    async fn create_endpoint_reserved(
        &self,
        account_id: AccountId,
        input: NewEndpoint,
        reservation: Reservation<CreatedEndpoint>,
    ) -> Result<CreatedEndpoint, EndpointError> {
        let id = EndpointId(reservation.reserved_id());
        self.create(account_id, input, id, Some(reservation)).await
    }

    #[tracing::instrument(name = "list_webhook_endpoints", skip_all, fields(account_id = %account_id))]
    async fn list_endpoints(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<WebhookEndpoint>, EndpointError> {
        Ok(self.endpoints.list_endpoints(account_id).await?)
    }

    #[tracing::instrument(name = "get_webhook_endpoint", skip_all, fields(account_id = %account_id, endpoint_id = %id))]
    async fn get_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<WebhookEndpoint, EndpointError> {
        self.endpoints
            .find_endpoint(account_id, id)
            .await?
            .ok_or(EndpointError::NotFound)
    }

    #[tracing::instrument(name = "update_webhook_endpoint", skip_all, fields(account_id = %account_id, endpoint_id = %id))]
    async fn update_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
        patch: EndpointPatch,
    ) -> Result<WebhookEndpoint, EndpointError> {
        // Another account's endpoint is not found before anything is said about its URL.
        let current = self.get_endpoint(account_id, id).await?;
        if patch == EndpointPatch::default() {
            return Ok(current);
        }
        if let Some(url) = &patch.url {
            self.check_destination(url).await?;
        }
        let at = now().map_err(EndpointError::Unexpected)?;
        let updated = self
            .endpoints
            .update_endpoint(account_id, id, &patch, at)
            .await?
            .ok_or(EndpointError::NotFound)?;
        tracing::info!("webhook endpoint changed");
        Ok(updated)
    }

    #[tracing::instrument(name = "delete_webhook_endpoint", skip_all, fields(account_id = %account_id, endpoint_id = %id))]
    async fn delete_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<(), EndpointError> {
        if !self.endpoints.delete_endpoint(account_id, id).await? {
            return Err(EndpointError::NotFound);
        }
        tracing::info!("webhook endpoint deleted");
        Ok(())
    }

    #[tracing::instrument(name = "rotate_webhook_secret", skip_all, fields(account_id = %account_id, endpoint_id = %id))]
    async fn rotate_secret(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<CreatedEndpoint, EndpointError> {
        let (secret, sealed) = self.new_secret(id)?;
        let at = now().map_err(EndpointError::Unexpected)?;
        let overlap = TimeDelta::from_std(self.settings.secret_overlap)
            .map_err(|e| EndpointError::Unexpected(e.into()))?;
        let endpoint = self
            .endpoints
            .rotate_secret(account_id, id, &sealed, at + overlap, at)
            .await?
            .ok_or(EndpointError::NotFound)?;
        tracing::info!("webhook signing secret rotated");
        Ok(CreatedEndpoint { endpoint, secret })
    }
}

#[cfg(test)]
mod tests;
