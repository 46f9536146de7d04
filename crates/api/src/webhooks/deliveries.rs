//! `/webhook-endpoints/{id}/deliveries`: an endpoint's deliveries, newest first with a
//! cursor, and retrying one (replaying its event).

use actix_web::{web, HttpResponse};
use domain::{EndpointId, ValidationErrors};
use ports::{JobId, ListDeliveries, ManageDeliveries};
use serde::Deserialize;
use utoipa::IntoParams;

use super::data::{DeliveryData, DeliveryListResponse};
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::params::{page_cursor, page_limit, path_id};
use crate::responses::{BearerErrors, EndpointNotFound};

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

impl DeliveryListParams {
    /// Validates every parameter, naming each bad one.
    pub fn try_into_query(self) -> Result<ListDeliveries, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let limit = page_limit(self.limit.as_deref(), &mut errors);
        let starting_after = page_cursor(
            self.starting_after.as_deref(),
            "must be a delivery id",
            &mut errors,
        )
        .map(|id| id.map(JobId));
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
        EndpointNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.list_webhook_deliveries", skip_all, fields(account_id = %account.0))]
pub async fn list_webhook_deliveries(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    params: web::Query<DeliveryListParams>,
    use_case: web::Data<dyn ManageDeliveries>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = EndpointId(path_id(&id)?);
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
        (status = 404, description = "No such endpoint of this account, or no such delivery of it", body = ErrorBody),
        (status = 409, description = "`delivery_in_progress`: an attempt is under way; or `endpoint_disabled`", body = ErrorBody),
        BearerErrors,
    )
)]
#[tracing::instrument(name = "http.retry_webhook_delivery", skip_all, fields(account_id = %account.0))]
pub async fn retry_webhook_delivery(
    account: AuthenticatedAccount,
    path: web::Path<(String, String)>,
    use_case: web::Data<dyn ManageDeliveries>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, delivery) = path.into_inner();
    let endpoint = EndpointId(path_id(&endpoint)?);
    let delivery = JobId(path_id(&delivery)?);
    let queued = use_case
        .retry_delivery(account.0, endpoint, delivery)
        .await?;
    Ok(HttpResponse::Accepted().json(Envelope::success(
        202,
        "Webhook delivery queued",
        DeliveryData::from(queued),
    )))
}
