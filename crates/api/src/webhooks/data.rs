//! Webhook endpoints and deliveries as the API shows them, and the event-type names they
//! are spelled with. Each wire type is the one declaration of its shape on the wire and in
//! the document.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{SigningSecret, WebhookEndpoint, WebhookEventType};
use ports::{DeliveryRecord, DeliveryStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The kinds of event an endpoint can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = WebhookEventType)]
pub enum WireEventType {
    /// A customer was registered.
    #[serde(rename = "customer.created")]
    CustomerCreated,
    /// A customer's details were changed.
    #[serde(rename = "customer.updated")]
    CustomerUpdated,
    /// A customer was erased (the event carries the id alone).
    #[serde(rename = "customer.deleted")]
    CustomerDeleted,
    /// The KYC or terms-of-service status changed (with `previous`).
    #[serde(rename = "customer.kyc.updated")]
    CustomerKycUpdated,
    /// The KYC status became `approved`.
    #[serde(rename = "customer.kyc.approved")]
    CustomerKycApproved,
    /// The KYC status became `rejected`.
    #[serde(rename = "customer.kyc.rejected")]
    CustomerKycRejected,
    /// The KYC mail could not be delivered.
    #[serde(rename = "customer.kyc_mail.failed")]
    CustomerKycMailFailed,
}

impl From<WebhookEventType> for WireEventType {
    fn from(t: WebhookEventType) -> Self {
        match t {
            WebhookEventType::CustomerCreated => Self::CustomerCreated,
            WebhookEventType::CustomerUpdated => Self::CustomerUpdated,
            WebhookEventType::CustomerDeleted => Self::CustomerDeleted,
            WebhookEventType::CustomerKycUpdated => Self::CustomerKycUpdated,
            WebhookEventType::CustomerKycApproved => Self::CustomerKycApproved,
            WebhookEventType::CustomerKycRejected => Self::CustomerKycRejected,
            WebhookEventType::CustomerKycMailFailed => Self::CustomerKycMailFailed,
        }
    }
}

/// A webhook endpoint. `secret` is present only in the answers of registration and
/// secret rotation: it is never shown again.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0b6f3c1e-5d0a-4c55-9a53-2f1c0de6a1b7",
    "url": "https://hooks.example.com/onboarding",
    "description": "Orders service",
    "events": ["customer.created", "customer.kyc.approved"],
    "enabled": true,
    "created_at": "2026-01-02T03:04:05.678Z",
    "updated_at": null,
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
}))]
pub struct EndpointData {
    /// The endpoint id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Where events are POSTed (normalised).
    pub url: String,
    /// For people; may be empty.
    pub description: String,
    /// The event types it receives; empty means every type.
    pub events: Vec<WireEventType>,
    /// A disabled endpoint receives nothing.
    pub enabled: bool,
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed (including secret rotations); `null` until then.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    /// The signing secret (`whsec_` + base64 of 32 random bytes), only in the answers of
    /// `POST /webhook-endpoints` and `POST /webhook-endpoints/{id}/rotate-secret`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

// By hand, so that the secret never reaches a log line through `{:?}`.
impl std::fmt::Debug for EndpointData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointData")
            .field("id", &self.id)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl EndpointData {
    /// The endpoint as reads show it, without a secret.
    pub fn of(endpoint: WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.to_string(),
            url: endpoint.url.as_str().to_owned(),
            description: endpoint.description.as_str().to_owned(),
            events: endpoint
                .filter
                .types()
                .iter()
                .copied()
                .map(WireEventType::from)
                .collect(),
            enabled: endpoint.enabled,
            created_at: time(endpoint.created_at),
            updated_at: endpoint.updated_at.map(time),
            secret: None,
        }
    }

    /// The endpoint with its secret: the one answer that shows it.
    pub fn with_secret(endpoint: WebhookEndpoint, secret: &SigningSecret) -> Self {
        Self {
            secret: Some(secret.expose().to_owned()),
            ..Self::of(endpoint)
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Queued,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after the last attempt of the schedule.
    Failed,
}

impl From<DeliveryStatus> for DeliveryState {
    fn from(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Queued => Self::Queued,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Failed => Self::Failed,
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryData {
    /// The delivery id (for retrying it).
    #[schema(format = Uuid)]
    pub id: String,
    /// The event id, sent as `webhook-id` on every attempt.
    pub event_id: String,
    /// The event's type.
    pub event_type: WireEventType,
    /// `queued`, `delivered` or `failed`.
    pub status: DeliveryState,
    /// Attempts made so far (a retry starts counting again).
    pub attempts: u32,
    /// The endpoint's HTTP status at the last attempt, when it answered.
    pub last_http_status: Option<u16>,
    /// Why the last attempt failed, with up to 1 KiB of the endpoint's answer.
    pub last_error: Option<String>,
    /// When the next attempt is due (queued deliveries only).
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// When the delivery was queued (the event's time).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the endpoint answered 2xx.
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// When the delivery was given up.
    #[schema(format = DateTime)]
    pub failed_at: Option<String>,
}

impl From<DeliveryRecord> for DeliveryData {
    fn from(d: DeliveryRecord) -> Self {
        let finished = |status| {
            (d.status == status)
                .then_some(d.finished_at)
                .flatten()
                .map(time)
        };
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.into(),
            status: d.status.into(),
            attempts: d.attempts,
            last_http_status: d.last_http_status,
            delivered_at: finished(DeliveryStatus::Delivered),
            failed_at: finished(DeliveryStatus::Failed),
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(time),
            created_at: time(d.created_at),
        }
    }
}

/// The endpoint list: the envelope without a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointListResponse {
    /// Always `"success"`.
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    /// Always 200.
    pub status_code: u16,
    /// The account's endpoints (at most 10), oldest first, without secrets.
    pub data: Vec<EndpointData>,
}

/// A page of deliveries: the envelope without a message, plus `has_more`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListResponse {
    /// Always `"success"`.
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    /// Always 200.
    pub status_code: u16,
    /// The page, newest first.
    pub data: Vec<DeliveryData>,
    /// Whether another page follows (ask with `starting_after` = the last id).
    pub has_more: bool,
}

/// What a deletion answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedEndpoint {
    /// The endpoint id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_spelling_of_event_types_is_the_domains_spelling() {
        for t in WebhookEventType::ALL {
            assert_eq!(
                serde_json::to_value(WireEventType::from(t)).unwrap(),
                t.as_str()
            );
        }
        for s in [
            DeliveryStatus::Queued,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(DeliveryState::from(s)).unwrap(),
                s.as_str()
            );
        }
    }
}
