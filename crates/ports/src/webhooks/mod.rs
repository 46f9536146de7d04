//! Outgoing webhooks: the ports — where endpoints and their deliveries are kept, the box
//! that seals signing secrets, the sender that signs and posts — and the use cases that
//! drive them: managing endpoints (`endpoints`), reading and retrying deliveries
//! (`deliveries`), the outbox handler that delivers events (`handler`) and the periodic
//! clean-up of old deliveries (`retention`).

mod deliveries;
mod endpoints;
mod handler;
mod retention;

#[cfg(any(test, feature = "mock"))]
pub use deliveries::MockManageDeliveries;
pub use deliveries::{DeliveryError, DeliveryPage, ListDeliveries, ManageDeliveries};
#[cfg(any(test, feature = "mock"))]
pub use endpoints::MockManageWebhookEndpoints;
pub use endpoints::{
    CreatedEndpoint, EndpointError, EndpointPatch, ManageWebhookEndpoints, NewEndpoint,
    WebhookEndpointService, WebhookSettings,
};
pub use handler::WebhookDeliveryHandler;
pub use retention::DeliveryRetention;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccountId, EndpointDescription, EndpointId, EventFilter, EventId, SigningSecret,
    WebhookEndpoint, WebhookEventType, WebhookUrl,
};

use crate::{IdempotencyCompletion, JobId, RepositoryError};

/// A signing secret as the store keeps it: sealed by the [`SecretBox`], opaque to
/// everything else. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub String);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedSecret({} chars)", self.0.len())
    }
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretBoxError {
    /// The sealed value is not one this box made for this endpoint (another key, another
    /// endpoint's secret, or altered).
    #[error("the sealed secret does not open with this key for this endpoint")]
    WrongKeyOrTampered,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Seals signing secrets for storage and opens them to sign. A sealed secret is bound to
/// its endpoint: it does not open as another endpoint's.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait SecretBox: Send + Sync + 'static {
    /// Seals `secret` for `endpoint`.
    fn seal(
        &self,
        secret: &SigningSecret,
        endpoint: EndpointId,
    ) -> Result<SealedSecret, SecretBoxError>;

    /// Opens what [`SecretBox::seal`] made for `endpoint`.
    fn open(
        &self,
        sealed: &SealedSecret,
        endpoint: EndpointId,
    ) -> Result<SigningSecret, SecretBoxError>;
}

/// An endpoint's sealed signing secrets: the current one, and during a rotation's overlap
/// the previous one with the end of its overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecrets {
    /// Signs every delivery.
    pub current: SealedSecret,
    /// Also signs deliveries until the time given.
    pub previous: Option<(SealedSecret, DateTime<Utc>)>,
}

/// What changes in an endpoint; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChange {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// A new description.
    pub description: Option<EndpointDescription>,
    /// A new event filter.
    pub filter: Option<EventFilter>,
    /// Enabled or disabled.
    pub enabled: Option<bool>,
}

/// Why an endpoint was not stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertEndpointError {
    /// The account already has as many endpoints as it may.
    #[error("the account already has the most webhook endpoints allowed")]
    LimitReached,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] RepositoryError),
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being attempted).
    Queued,
    /// A 2xx answer was received.
    Delivered,
    /// Given up.
    Failed,
}

impl DeliveryStatus {
    /// The store's and the API's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(Self::Queued),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown delivery status {other:?}")),
        }
    }
}

/// One event's delivery to one endpoint, as its account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The delivery's id (its outbox job's).
    pub id: JobId,
    /// The endpoint.
    pub endpoint_id: EndpointId,
    /// The event (the `webhook-id` header).
    pub event_id: EventId,
    /// The event's type.
    pub event_type: WebhookEventType,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The receiver's status at the last attempt, when it answered.
    pub last_http_status: Option<u16>,
    /// Why the last attempt failed (with up to 1 KiB of the receiver's answer).
    pub last_error: Option<String>,
    /// When the next attempt is due (queued deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was queued (the event's time).
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A position in the newest-first order of deliveries: strictly older than this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCursor {
    /// The cursor delivery's creation time.
    pub created_at: DateTime<Utc>,
    /// The cursor delivery's id (breaks ties between equal times).
    pub id: JobId,
}

/// What became of a request to retry a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Queued again, due now, with a fresh schedule.
    Queued(DeliveryRecord),
    /// An attempt is under way; it was left alone.
    InFlight,
    /// No such delivery of this endpoint.
    NotFound,
}

/// Where webhook endpoints are kept, with their deliveries. Every method is scoped to one
/// account: no call can see or touch another account's endpoints.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookEndpointRepository: Send + Sync + 'static {
    /// Stores a new endpoint with its sealed secret, unless the account already has
    /// `limit` endpoints ([`InsertEndpointError::LimitReached`]). The count and the insert
    /// are one step for the store, so concurrent registrations cannot pass the limit. Under
    /// an idempotency key, the key's outcome (`idempotency`) is written in the same
    /// transaction; if the key is no longer held, nothing is.
    async fn insert_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &SealedSecret,
        limit: u32,
        idempotency: Option<IdempotencyCompletion>,
    ) -> Result<(), InsertEndpointError>;

    /// The account's endpoint with this id.
    async fn find_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError>;

    /// Every endpoint of the account, oldest first.
    async fn list_endpoints(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<WebhookEndpoint>, RepositoryError>;

    /// Applies `change` at `at`; the endpoint as it now is, or `None` when the account has
    /// no such endpoint. Only the parts named change, so concurrent changes of different
    /// parts do not undo each other.
    async fn update_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
        change: &EndpointChange,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError>;

    /// Deletes the endpoint and its deliveries; false when there is no such endpoint.
    async fn delete_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> Result<bool, RepositoryError>;

    /// Makes `secret` the endpoint's signing secret; the one it replaces keeps signing too
    /// until `previous_until`. `None` when the account has no such endpoint.
    async fn rotate_secret(
        &self,
        account_id: AccountId,
        id: EndpointId,
        secret: &SealedSecret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, RepositoryError>;

    /// Up to `limit` of the endpoint's deliveries, newest first (by creation time, then
    /// id), strictly after `after` in that order.
    async fn list_deliveries(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        after: Option<DeliveryCursor>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, RepositoryError>;

    /// The endpoint's delivery with this id.
    async fn find_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
    ) -> Result<Option<DeliveryRecord>, RepositoryError>;

    /// Queues the delivery again, due at `at`, with its attempts counted from zero —
    /// unless an attempt is under way (its lease not yet ended).
    async fn retry_delivery(
        &self,
        account_id: AccountId,
        endpoint: EndpointId,
        id: JobId,
        at: DateTime<Utc>,
    ) -> Result<RetryOutcome, RepositoryError>;
}

/// Everything one delivery attempt needs, read when it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    /// Where to send.
    pub url: WebhookUrl,
    /// Whether the endpoint still receives events.
    pub enabled: bool,
    /// Its sealed signing secrets.
    pub secrets: StoredSecrets,
    /// The exact body, as written with the event.
    pub body: String,
}

/// How many rows a clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Finished deliveries.
    pub deliveries: u64,
    /// Events no delivery referred to any more.
    pub events: u64,
}

/// The delivery side, for the service's own workers: not account-scoped, never reachable
/// from a request handler.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookDeliveries: Send + Sync + 'static {
    /// The endpoint and event of a delivery, or `None` when either is gone.
    async fn delivery_target(
        &self,
        endpoint: EndpointId,
        event: &EventId,
    ) -> Result<Option<DeliveryTarget>, RepositoryError>;

    /// Deletes the deliveries delivered or given up before `before`, then the events
    /// written before `before` that no delivery refers to any more.
    async fn purge_finished(&self, before: DateTime<Utc>) -> Result<Purged, RepositoryError>;
}

/// A signed POST to make: the adapter signs `body` with every secret given, at the time
/// of the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingWebhook {
    /// Where.
    pub url: WebhookUrl,
    /// The `webhook-id`: the event's id, the same on every attempt.
    pub event_id: EventId,
    /// The exact body.
    pub body: String,
    /// The endpoint's current secret first, then the previous one during an overlap.
    pub secrets: Vec<SigningSecret>,
}

/// A receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// Its HTTP status.
    pub status: u16,
    /// The start of its body (at most 1 KiB, lossily decoded).
    pub body_excerpt: String,
}

/// Why a webhook got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The destination is not one the service sends to (e.g. its host resolves to a
    /// private address); nothing was sent.
    #[error("refused: {0}")]
    Refused(String),
    /// No answer within the time allowed.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The connection could not be made or broke.
    #[error("{0}")]
    Connection(String),
}

/// A destination the service does not send to, and why (fit for the account to read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DestinationRefused(pub String);

/// Signs and sends webhooks (Standard Webhooks), guarding against requests to the
/// service's own network.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Whether the service would send to `url` now: refused when the scheme is not
    /// allowed, or the host is (or resolves to) an address of a private, loopback,
    /// link-local, multicast or unspecified range. A host that does not resolve yet is not
    /// refused here; every delivery checks again.
    async fn check_destination(&self, url: &WebhookUrl) -> Result<(), DestinationRefused>;

    /// Signs and POSTs `webhook`; the receiver's answer, whatever its status.
    async fn send(&self, webhook: &OutgoingWebhook) -> Result<WebhookResponse, SendError>;
}
