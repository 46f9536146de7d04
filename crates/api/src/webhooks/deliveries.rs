//! `/webhook-endpoints/{id}/deliveries`: an endpoint's deliveries, newest first with a
//! cursor, and retrying one (replaying its event).

use actix_web::{web, HttpResponse};
use domain::ValidationErrors;
use ports::{JobId, ListDeliveries, ManageDeliveries};
use serde::Deserialize;
use utoipa::IntoParams;

use super::data::{DeliveryData, DeliveryListResponse};
use super::endpoints::endpoint_id;
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};

/// Query parameters of `GET /webhook-endpoints/{id}/deliveries`, as sent.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListParams {
    /// Page size, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The last delivery id of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    pub starting_after: Option<String>,
}

/// Default and largest page size.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

impl DeliveryListParams {
    /// Validates every parameter, naming each bad one.
    pub fn try_into_query(self) -> Result<ListDeliveries, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let limit = match self.limit.as_deref() {
            None => Some(DEFAULT_LIMIT),
            Some(raw) => errors.collect(
                "limit",
                raw.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("must be an integer from 1 to {MAX_LIMIT}")),
            ),
        };
        let starting_after = match self.starting_after.as_deref() {
            None => Some(None),
            Some(raw) => errors
                .collect(
                    "starting_after",
                    uuid::Uuid::parse_str(raw).map_err(|_| "must be a delivery id".to_owned()),
                )
                .map(|id| Some(JobId(id))),
        };
        match (limit, starting_after) {
            (Some(limit), Some(starting_after)) if errors.is_empty() => Ok(ListDeliveries {
                limit,
                starting_after,
            }),
            _ => Err(errors),
        }
    }
}

/// The endpoint's deliveries, newest first: each event's id and type, attempts, the last
/// HTTP status and error, the next attempt, and when it was delivered or given up.
#[utoipa::path(
    get,
    path = "/webhook-endpoints/{id}/deliveries",
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = String, Path, description = "The endpoint id (a UUID)"), DeliveryListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryListResponse),
        (status = 400, description = "A bad parameter, or `starting_after` of no delivery of this endpoint", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.list_webhook_deliveries", skip_all, fields(account_id = %account.0))]
pub async fn list_webhook_deliveries(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    params: web::Query<DeliveryListParams>,
    use_case: web::Data<dyn ManageDeliveries>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = endpoint_id(&id)?;
    let query = params
        .into_inner()
        .try_into_query()
        .map_err(|e| ApiError::validation(&e))?;
    let page = use_case.list_deliveries(account.0, endpoint, query).await?;
    Ok(HttpResponse::Ok().json(DeliveryListResponse {
        status: "success",
        status_code: 200,
        data: page
            .deliveries
            .into_iter()
            .map(DeliveryData::from)
            .collect(),
        has_more: page.has_more,
    }))
}

/// Queues a delivery again, due now, with a fresh retry schedule: the same event (same
/// `webhook-id` and body), signed afresh. Works for delivered deliveries too (a replay).
#[utoipa::path(
    post,
    path = "/webhook-endpoints/{id}/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    params(
        ("id" = String, Path, description = "The endpoint id (a UUID)"),
        ("delivery_id" = String, Path, description = "The delivery id (a UUID)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued; it is attempted shortly", body = Envelope<DeliveryData>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account, or no such delivery of it", body = ErrorBody),
        (status = 409, description = "`delivery_in_progress`: an attempt is under way; or `endpoint_disabled`", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.retry_webhook_delivery", skip_all, fields(account_id = %account.0))]
pub async fn retry_webhook_delivery(
    account: AuthenticatedAccount,
    path: web::Path<(String, String)>,
    use_case: web::Data<dyn ManageDeliveries>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, delivery) = path.into_inner();
    let endpoint = endpoint_id(&endpoint)?;
    let delivery = uuid::Uuid::parse_str(&delivery)
        .map(JobId)
        .map_err(|_| ApiError::not_found())?;
    let queued = use_case
        .retry_delivery(account.0, endpoint, delivery)
        .await?;
    Ok(HttpResponse::Accepted().json(Envelope::success(
        202,
        "Webhook delivery queued",
        DeliveryData::from(queued),
    )))
}
