//! `POST /webhooks/bridge`: Bridge's signed KYC events. No bearer token — the signature is
//! the authentication. The raw body (this route's own limit, 256 KiB) goes to the provider's
//! verifier, which checks the signature and reads the event; the report it makes goes
//! through the KYC lifecycle like any other. Served only when a webhook public key is
//! configured (`404` otherwise).

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::StreamExt as _;
use ports::{EventRejection, KycLifecycle, ProviderEventVerifier};
use serde::Serialize;
use utoipa::ToSchema;

use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::responses::{HeadersTooLarge, Unexpected};

/// Largest accepted event body. Bridge's events carry one object each.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 256 * 1024;

/// The signature header Bridge sends.
pub const BRIDGE_SIGNATURE_HEADER: &str = "x-webhook-signature";

/// What became of an accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// It changed where a customer's verification stands.
    Applied,
    /// It was the newest news but said nothing new.
    Unchanged,
    /// Received before: nothing done.
    Duplicate,
    /// Older than the state already applied: kept in the customer's history only.
    Stale,
    /// About no customer of this service: recorded and dropped.
    Unmatched,
    /// Not about KYC (another category of event): dropped.
    Ignored,
}

impl From<ports::ApplyOutcome> for EventOutcome {
    fn from(outcome: ports::ApplyOutcome) -> Self {
        match outcome {
            ports::ApplyOutcome::Applied => Self::Applied,
            ports::ApplyOutcome::Unchanged => Self::Unchanged,
            ports::ApplyOutcome::Duplicate => Self::Duplicate,
            ports::ApplyOutcome::Stale => Self::Stale,
            ports::ApplyOutcome::Unmatched => Self::Unmatched,
        }
    }
}

/// The answer to an accepted event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventReceived {
    /// What became of it.
    pub outcome: EventOutcome,
}

fn received(outcome: EventOutcome) -> HttpResponse {
    HttpResponse::Ok().json(Envelope::success(
        200,
        "Event received",
        EventReceived { outcome },
    ))
}

/// Reads the raw body, refusing more than `limit` bytes without reading them all.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<BytesMut, ApiError> {
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::malformed_json("request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Receives one of Bridge's webhook events (configure this URL in Bridge's dashboard or
/// with `POST /v0/webhooks`). Categories `kyc_link` and `customer` update the customers
/// they name; other categories are acknowledged and dropped. Each `event_id` is applied
/// once; an event older than the state already applied is kept in the history only.
#[utoipa::path(
    post,
    path = "/webhooks/bridge",
    tag = "provider events",
    operation_id = "bridge_webhook",
    params(
        ("X-Webhook-Signature" = String, Header,
            description = "`t=<unix milliseconds>,v0=<base64 RSA PKCS#1 v1.5 SHA-256 signature of SHA-256(t + \".\" + body)>`"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "Bridge's event envelope (`event_id`, `event_category`, `event_type`, `event_object`, `event_created_at`, …), signed as sent"),
    responses(
        (status = 200, description = "Accepted (applied, or recognised as needing nothing)", body = Envelope<EventReceived>),
        (status = 400, description = "`invalid_signature` (missing, malformed or not verifying), `stale_event` (timestamp over 10 minutes old or over 1 minute ahead), `invalid_json`, or `invalid_request` (not a Bridge event)", body = ErrorBody),
        (status = 404, description = "Webhooks are off: no BRIDGE_WEBHOOK_PUBLIC_KEY is configured", body = ErrorBody),
        (status = 413, description = "Body over 256 KiB", body = ErrorBody),
        (status = 422, description = "`unknown_value`: a status this service does not know yet (Bridge retries)", body = ErrorBody),
        (status = 503, description = "The database is unavailable (Bridge retries)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        HeadersTooLarge, Unexpected,
    )
)]
#[tracing::instrument(name = "http.bridge_webhook", skip_all)]
pub async fn bridge_webhook(
    req: HttpRequest,
    payload: web::Payload,
    verifier: Option<web::Data<dyn ProviderEventVerifier>>,
    lifecycle: Option<web::Data<dyn KycLifecycle>>,
) -> Result<HttpResponse, ApiError> {
    let (Some(verifier), Some(lifecycle)) = (verifier, lifecycle) else {
        return Err(ApiError::not_found());
    };
    let body = read_body(&req, payload, MAX_WEBHOOK_BODY_BYTES).await?;
    let signature = req
        .headers()
        .get(BRIDGE_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let update = match verifier.verify(signature, &body, Utc::now()) {
        Ok(update) => update,
        Err(rejection) => {
            tracing::info!(reason = rejection.as_str(), "webhook event refused");
            return match rejection {
                EventRejection::InvalidSignature { .. } => Err(ApiError::invalid_signature()),
                EventRejection::Stale => Err(ApiError::stale_event()),
                EventRejection::NotJson => {
                    Err(ApiError::malformed_json("request body is not valid JSON"))
                }
                EventRejection::Malformed { reason } => {
                    Err(ApiError::invalid_parameter("body", &reason))
                }
                EventRejection::Ignored { kind } => {
                    tracing::info!(kind = %kind, "webhook event is not about KYC; ignored");
                    Ok(received(EventOutcome::Ignored))
                }
                EventRejection::UnknownValue { field, .. } => Err(ApiError::unknown_value(field)),
            };
        }
    };
    let outcome = lifecycle.apply(verifier.provider(), update).await?;
    Ok(received(outcome.into()))
}
