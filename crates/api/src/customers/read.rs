//! `GET /customer/{id}` and `GET /customers`: one customer, and a page of them with
//! cursor pagination and filters.

use actix_web::{web, HttpResponse};
use domain::{CustomerId, FieldError, KycStatus, ValidationErrors};
use ports::{CustomerFilter, ListCustomers, ReadCustomers};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::data::{CustomerData, WireKycStatus};
use crate::auth::AuthenticatedAccount;
use crate::conditional::etag;
use crate::envelope::{json_with_capacity, Envelope, CUSTOMER_JSON_BYTES};
use crate::error::{ApiError, ErrorBody};
use crate::params::{page_cursor, page_limit, path_id};
use crate::responses::{BearerErrors, CustomerNotFound};

/// One of the caller's customers, in its current state. Another account's customer, an
/// unknown id and a malformed id are all `404`.
#[utoipa::path(
    get,
    path = "/customer/{id}",
    tag = "customers",
    operation_id = "get_customer",
    params(("id" = String, Path, description = "The customer id (a UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer", body = Envelope<CustomerData>,
            headers(("ETag" = String, description = "The customer's version, quoted (`\"3\"`): send it in `If-Match` to change or delete only this version"))),
        CustomerNotFound, BearerErrors,
    )
)]
#[tracing::instrument(name = "http.get_customer", skip_all, fields(account_id = %account.0))]
pub async fn get_customer(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ReadCustomers>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id)?;
    let customer = use_case
        .get_customer(account.0, CustomerId(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(json_with_capacity(
        HttpResponse::Ok().insert_header(etag(customer.version)),
        &Envelope::success(
            200,
            "Customer retrieved successfully",
            CustomerData::from(customer),
        ),
        CUSTOMER_JSON_BYTES + 128,
    ))
}

/// Query parameters of `GET /customers`, as sent.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The last customer id of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    pub starting_after: Option<String>,
    /// Exact e-mail address, case-insensitive.
    #[param(min_length = 1, max_length = 254)]
    pub email: Option<String>,
    /// Exact KYC status.
    #[param(value_type = Option<WireKycStatus>)]
    pub kyc_status: Option<String>,
}

impl ListParams {
    /// Validates every parameter, naming each bad one.
    pub fn try_into_query(self) -> Result<ListCustomers, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let limit = page_limit(self.limit.as_deref(), &mut errors);
        let starting_after = page_cursor(
            self.starting_after.as_deref(),
            "must be a customer id",
            &mut errors,
        )
        .map(|id| id.map(CustomerId));
        let email = match self.email {
            Some(e)
                if e.trim().is_empty()
                    || e.len() > domain::MAX_EMAIL_CHARS
                    || e.chars().any(char::is_control) =>
            {
                errors.push(FieldError::new("email", "must be an e-mail address"));
                None
            }
            other => Some(other.map(|e| e.trim().to_owned())),
        };
        let kyc_status = match self.kyc_status.as_deref() {
            None => Some(None),
            Some(raw) => errors
                .collect("kyc_status", raw.parse::<KycStatus>())
                .map(Some),
        };
        match (limit, starting_after, email, kyc_status) {
            (Some(limit), Some(starting_after), Some(email), Some(kyc_status))
                if errors.is_empty() =>
            {
                Ok(ListCustomers {
                    limit,
                    starting_after,
                    filter: CustomerFilter { email, kyc_status },
                })
            }
            _ => Err(errors),
        }
    }
}

/// The list response: the envelope without a message, plus `has_more`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse {
    /// Always `"success"`.
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    /// Always 200.
    pub status_code: u16,
    /// The page, newest first.
    pub data: Vec<CustomerData>,
    /// Whether another page follows (ask with `starting_after` = the last id).
    pub has_more: bool,
}

/// The caller's customers, newest first, with cursor pagination and filters.
#[utoipa::path(
    get,
    path = "/customers",
    tag = "customers",
    operation_id = "list_customers",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of customers", body = ListResponse),
        (status = 400, description = "A bad parameter, or `starting_after` of no customer of this account", body = ErrorBody),
        BearerErrors,
    )
)]
#[tracing::instrument(name = "http.list_customers", skip_all, fields(account_id = %account.0))]
pub async fn list_customers(
    account: AuthenticatedAccount,
    params: web::Query<ListParams>,
    use_case: web::Data<dyn ReadCustomers>,
) -> Result<HttpResponse, ApiError> {
    let query = params
        .into_inner()
        .try_into_query()
        .map_err(|e| ApiError::validation(&e))?;
    let page = use_case.list_customers(account.0, query).await?;
    let capacity = CUSTOMER_JSON_BYTES * page.customers.len() + 128;
    Ok(json_with_capacity(
        &mut HttpResponse::Ok(),
        &ListResponse {
            status: "success",
            status_code: 200,
            data: page.customers.into_iter().map(CustomerData::from).collect(),
            has_more: page.has_more,
        },
        capacity,
    ))
}
