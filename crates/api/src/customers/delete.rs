//! `DELETE /customer/{id}`: erasure of the customer (GDPR Art. 17).

use actix_web::{web, HttpResponse};
use domain::CustomerId;
use ports::DeleteCustomer;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthenticatedAccount;
use crate::conditional::IfMatch;
use crate::error::{ApiError, ErrorBody};
use crate::params::path_id;
use crate::responses::{AuthErrors, Unexpected};

/// The answer to a deletion: the envelope without `data`, as Yativo's API gives it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "success", "status_code": 200, "message": "Customer successfully deleted"}))]
pub struct DeletedResponse {
    /// Always `"success"`.
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    /// Always 200.
    pub status_code: u16,
    /// Always `Customer successfully deleted`.
    #[schema(value_type = String, example = "Customer successfully deleted")]
    pub message: &'static str,
}

/// Erases a customer: the customer and everything the service holds of the person are
/// deleted in one transaction — queued KYC mails and pending webhook deliveries about it
/// are cancelled, stored idempotent answers that showed it are dropped — and only the
/// `customer.deleted` event (the id alone) goes out. The id is never used again. The KYC
/// provider is not asked to delete its own records. With `If-Match`, only if the customer
/// is still at that version.
#[utoipa::path(
    delete,
    path = "/customer/{id}",
    tag = "customers",
    operation_id = "delete_customer",
    params(
        ("id" = String, Path, description = "The customer id (a UUID)"),
        ("If-Match" = Option<String>, Header,
            description = "Erase only if the customer is still at this version: the `ETag` of a `GET` (`\"3\"`), several, or `*` (any). Weak tags never match.",
            example = "\"1\""),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Erased", body = DeletedResponse),
        (status = 400, description = "A malformed `If-Match` (`invalid_request`)", body = ErrorBody),
        (status = 404, description = "No such customer of this account (also once it is erased)", body = ErrorBody),
        (status = 412, description = "The customer is no longer at the version named in `If-Match` (`precondition_failed`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable, or the customer kept changing under the request (nothing was erased)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        AuthErrors, Unexpected,
    )
)]
#[tracing::instrument(name = "http.delete_customer", skip_all, fields(account_id = %account.0))]
pub async fn delete_customer(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    if_match: IfMatch,
    use_case: web::Data<dyn DeleteCustomer>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id)?;
    use_case
        .delete_customer(account.0, CustomerId(id), if_match.0)
        .await?;
    Ok(HttpResponse::Ok().json(DeletedResponse {
        status: "success",
        status_code: 200,
        message: "Customer successfully deleted",
    }))
}
