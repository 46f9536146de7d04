//! `/webhook-endpoints`: registering, reading, changing and deleting an account's webhook
//! endpoints, and rotating an endpoint's signing secret. Another account's endpoint, an
//! unknown id and a malformed id are all `404`.

use actix_web::{web, HttpResponse};
use domain::EndpointId;
use ports::{CreatedEndpoint, ManageWebhookEndpoints};
use serde_json::Value;

use super::body::{CreateEndpointBody, UpdateEndpointBody};
use super::data::{DeletedEndpoint, EndpointData, EndpointListResponse};
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;

/// An endpoint id from the path; anything but a UUID names no endpoint.
pub(super) fn endpoint_id(raw: &str) -> Result<EndpointId, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(EndpointId)
        .map_err(|_| ApiError::not_found())
}

/// The answer to a registration: `201` with the endpoint and its secret. A function of
/// its own so that a wrapper (idempotent replays) can build or store it.
pub fn created_response(created: CreatedEndpoint) -> HttpResponse {
    HttpResponse::Created().json(Envelope::success(
        201,
        "Webhook endpoint created",
        EndpointData::with_secret(created.endpoint, &created.secret),
    ))
}

/// Registers a webhook endpoint for the authenticated account and answers with its signing
/// secret — the only time it is shown (keep it; rotate it if it is lost). At most 10
/// endpoints per account.
#[utoipa::path(
    post,
    path = "/webhook-endpoints",
    tag = "webhooks",
    operation_id = "create_webhook_endpoint",
    request_body(content = CreateEndpointBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Endpoint registered; `data.secret` is shown only now", body = Envelope<EndpointData>),
        (status = 400, description = "Invalid request: `details` names every bad field (a refused URL under `url`), or a key given twice", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 409, description = "`endpoint_limit_reached`: the account already has 10 endpoints", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json, or names a charset other than UTF-8", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.create_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn create_webhook_endpoint(
    account: AuthenticatedAccount,
    body: Json<Value>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let input = CreateEndpointBody::from_json(body.into_inner())
        .and_then(|body| body.try_into_domain(use_case.url_rules()))
        .map_err(|e| ApiError::validation(&e))?;
    let created = use_case.create_endpoint(account.0, input).await?;
    Ok(created_response(created))
}

/// The account's webhook endpoints, oldest first, without their secrets.
#[utoipa::path(
    get,
    path = "/webhook-endpoints",
    tag = "webhooks",
    operation_id = "list_webhook_endpoints",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account's endpoints", body = EndpointListResponse),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.list_webhook_endpoints", skip_all, fields(account_id = %account.0))]
pub async fn list_webhook_endpoints(
    account: AuthenticatedAccount,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let endpoints = use_case.list_endpoints(account.0).await?;
    Ok(HttpResponse::Ok().json(EndpointListResponse {
        status: "success",
        status_code: 200,
        data: endpoints.into_iter().map(EndpointData::of).collect(),
    }))
}

/// One of the account's webhook endpoints, without its secret.
#[utoipa::path(
    get,
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    operation_id = "get_webhook_endpoint",
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint", body = Envelope<EndpointData>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.get_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn get_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = use_case.get_endpoint(account.0, endpoint_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Webhook endpoint retrieved successfully",
        EndpointData::of(endpoint),
    )))
}

/// Changes an endpoint's `url`, `events`, `description` or `enabled`; what the body leaves
/// out stays as it is. A new URL is held to the rules of registration.
#[utoipa::path(
    patch,
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    operation_id = "update_webhook_endpoint",
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    request_body(content = UpdateEndpointBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint as changed", body = Envelope<EndpointData>),
        (status = 400, description = "Invalid request: `details` names every bad field (a refused URL under `url`), or a key given twice", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json, or names a charset other than UTF-8", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.update_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn update_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    body: Json<Value>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&id)?;
    let change = UpdateEndpointBody::from_json(body.into_inner())
        .and_then(|body| body.try_into_domain(use_case.url_rules()))
        .map_err(|e| ApiError::validation(&e))?;
    let endpoint = use_case.update_endpoint(account.0, id, change).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Webhook endpoint updated successfully",
        EndpointData::of(endpoint),
    )))
}

/// Deletes an endpoint and its deliveries (queued ones are not sent).
#[utoipa::path(
    delete,
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook_endpoint",
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedEndpoint>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.delete_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn delete_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&id)?;
    use_case.delete_endpoint(account.0, id).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Webhook endpoint deleted",
        DeletedEndpoint {
            id: id.to_string(),
            deleted: true,
        },
    )))
}

/// Gives the endpoint a new signing secret, shown only in this answer. For 24 hours
/// deliveries carry a signature by the old secret too (`webhook-signature` lists both), so
/// the receiver can switch over without missing an event.
#[utoipa::path(
    post,
    path = "/webhook-endpoints/{id}/rotate-secret",
    tag = "webhooks",
    operation_id = "rotate_webhook_endpoint_secret",
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint with its new secret in `data.secret`, shown only now", body = Envelope<EndpointData>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such endpoint of this account", body = ErrorBody),
        (status = 431, description = "Authorization header over 16 KiB, or request headers over 32 KiB in all", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.rotate_webhook_secret", skip_all, fields(account_id = %account.0))]
pub async fn rotate_webhook_endpoint_secret(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let rotated = use_case.rotate_secret(account.0, endpoint_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Webhook signing secret rotated",
        EndpointData::with_secret(rotated.endpoint, &rotated.secret),
    )))
}
