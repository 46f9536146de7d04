//! `/webhook-endpoints`: registering, reading, changing and deleting an account's webhook
//! endpoints, and rotating an endpoint's signing secret. Another account's endpoint, an
//! unknown id and a malformed id are all `404`.

use actix_web::{web, HttpRequest, HttpResponse};
use domain::EndpointId;
use ports::{EndpointError, Idempotency, ManageWebhookEndpoints};
use serde_json::Value;

use super::body::{CreateEndpointBody, UpdateEndpointBody};
use super::data::{DeletedEndpoint, EndpointData, EndpointListResponse};
use super::idempotent::CREATE_ENDPOINT;
use crate::auth::AuthenticatedAccount;
use crate::envelope::Envelope;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::idempotency::{self, IdempotencyKeyHeader, IdempotencyKeyParam, KeyedRequest};
use crate::params::path_id;
use crate::responses::{BearerErrors, EndpointNotFound, JsonBodyErrors};

/// Registers a webhook endpoint for the authenticated account and answers with its signing
/// secret — the only time it is shown (keep it; rotate it if it is lost). At most 10
/// endpoints per account. With an `Idempotency-Key`, a retry of the same request gets the
/// first answer again with `"secret": null` (the secret is never stored in the clear) and
/// registers nothing more.
#[utoipa::path(
    post,
    path = "/webhook-endpoints",
    tag = "webhooks",
    operation_id = "create_webhook_endpoint",
    params(IdempotencyKeyParam),
    request_body(content = CreateEndpointBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Endpoint registered; `data.secret` is shown only now (a replay, with `Idempotent-Replayed: true`, is the first answer with `data.secret` null)", body = Envelope<EndpointData>,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same idempotency key"))),
        (status = 400, description = "Invalid request: `details` names every bad field (a refused URL under `url`), a key given twice, or a malformed `Idempotency-Key` (`invalid_request`); or no `Idempotency-Key` where one is required (`idempotency_key_required`)", body = ErrorBody),
        (status = 409, description = "`endpoint_limit_reached`: the account already has 10 endpoints (an idempotency key is released: retry with it once one is deleted); or a request with this idempotency key is still in progress (`idempotency_key_in_use`, with `Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "With `idempotency_key_in_use`: seconds to wait"))),
        (status = 422, description = "This idempotency key was used for a request with a different body (`idempotency_key_reused`)", body = ErrorBody),
        BearerErrors, JsonBodyErrors,
    )
)]
#[tracing::instrument(name = "http.create_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn create_webhook_endpoint(
    account: AuthenticatedAccount,
    key: IdempotencyKeyHeader,
    body: Json<Value>,
    req: HttpRequest,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
    idempotency: web::Data<Idempotency>,
) -> Result<HttpResponse, ApiError> {
    let account = account.0;
    let body = body.into_inner();
    let request = KeyedRequest::new(key, &req, account, &body);
    let input = CreateEndpointBody::from_json(body)
        .and_then(|body| body.try_into_domain(use_case.url_rules()))
        .map_err(|e| ApiError::validation(&e))?;
    let use_case = &use_case;
    idempotency::respond(
        &idempotency,
        request,
        &CREATE_ENDPOINT,
        |reserved| async move {
            // The endpoint and its key's outcome are written in one transaction, so an
            // endpoint under the reserved id cannot exist while the key is unfinished; and
            // its answer could not be rebuilt (its secret is shown once). Should one exist,
            // that is reported rather than a second endpoint registered.
            match use_case.get_endpoint(account, EndpointId(reserved)).await {
                Err(EndpointError::NotFound) => Ok(None),
                Ok(_) => {
                    tracing::error!(endpoint_id = %reserved, "an endpoint exists under an unfinished idempotency key's reserved id");
                    Err(ApiError::internal())
                }
                Err(e) => Err(e.into()),
            }
        },
        |reservation| async move {
            Ok(match reservation {
                None => use_case.create_endpoint(account, input).await?,
                Some(reservation) => {
                    use_case
                        .create_endpoint_reserved(account, input, reservation)
                        .await?
                }
            })
        },
    )
    .await
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
        BearerErrors,
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
        EndpointNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.get_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn get_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = use_case
        .get_endpoint(account.0, EndpointId(path_id(&id)?))
        .await?;
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
        EndpointNotFound, BearerErrors, JsonBodyErrors,
    )
)]
#[tracing::instrument(name = "http.update_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn update_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    body: Json<Value>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let id = EndpointId(path_id(&id)?);
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
        EndpointNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.delete_webhook_endpoint", skip_all, fields(account_id = %account.0))]
pub async fn delete_webhook_endpoint(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let id = EndpointId(path_id(&id)?);
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
        EndpointNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.rotate_webhook_secret", skip_all, fields(account_id = %account.0))]
pub async fn rotate_webhook_endpoint_secret(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ManageWebhookEndpoints>,
) -> Result<HttpResponse, ApiError> {
    let rotated = use_case
        .rotate_secret(account.0, EndpointId(path_id(&id)?))
        .await?;
    Ok(HttpResponse::Ok().json(Envelope::success(
        200,
        "Webhook signing secret rotated",
        EndpointData::with_secret(rotated.endpoint, &rotated.secret),
    )))
}
