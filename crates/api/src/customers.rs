//! `POST /customer`: the wire body, its conversion to the domain, the handler and the
//! response envelope.

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpResponse};
use chrono::SecondsFormat;
use domain::{
    CountryCode, Customer, CustomerEmail, CustomerId, CustomerName, CustomerType, FieldError,
    NewCustomer, PhoneNumber, ValidationErrors,
};
use ports::{CreateCustomer, CustomerFilter, ListCustomers, ReadCustomers};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::ErrorBody;
use crate::{ApiError, AuthenticatedAccount, MAX_BODY_BYTES};

/// JSON extractor settings for this route: 64 KiB limit, `application/json` required,
/// every failure in the API's own error shape.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req| json_error(&err).into())
}

fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::payload_too_large(MAX_BODY_BYTES)
        }
        JsonPayloadError::Deserialize(e) if e.is_eof() && e.line() == 1 && e.column() == 0 => {
            ApiError::malformed_json("request body is empty")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::invalid_parameter("body", &e.to_string())
        }
        JsonPayloadError::Deserialize(_) => {
            ApiError::malformed_json("request body is not valid JSON")
        }
        _ => ApiError::malformed_json("request body could not be read"),
    }
}

/// The body of `POST /customer` as the client sent it. Kept as raw JSON so that
/// [`CreateCustomerBody::try_into_domain`] can report every bad field at once (serde
/// stops at the first).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CreateCustomerBody(Value);

/// `individual` or `business`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A person.
    Individual,
    /// A company.
    Business,
}

/// Where a customer's KYC e-mail stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KycMailState {
    /// Waiting to be sent (or retried).
    Queued,
    /// Accepted by the mail server.
    Sent,
    /// Given up after the last attempt.
    Failed,
    /// `send_kyc_mail` was false.
    NotRequested,
}

// Documentation only: the handler parses the raw JSON itself (`CreateCustomerBody`) so
// that it can name every bad field at once; a test keeps these fields equal to `FIELDS`.
/// The body of `POST /customer`. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(crate::openapi::seed_request_example()))]
pub struct CreateCustomerRequest {
    /// Full name (or a business's legal name); trimmed; 1–255 characters, no control characters.
    #[schema(min_length = 1, max_length = 255, example = "Emmanuel A Towoju")]
    pub customer_name: String,
    /// E-mail address, at most 254 characters; unique per account, case-insensitively.
    #[schema(format = Email, max_length = 254, example = "tbash7676@gmail.com")]
    pub customer_email: String,
    /// Phone number in any common formatting (`+1 (415) 555-2671`), or national format for
    /// `customer_country`; must be a real number; returned in E.164.
    #[schema(min_length = 3, max_length = 40, example = "+2349039395114")]
    pub customer_phone: String,
    /// ISO 3166-1 alpha-3 (`USA`) or alpha-2 (`US`); returned as alpha-3.
    #[schema(pattern = "^[A-Za-z]{2,3}$", example = "USA")]
    pub customer_country: String,
    /// Default `individual`.
    pub customer_type: Option<CustomerKind>,
    /// Whether to e-mail the KYC and terms links to the customer. Default `true`.
    pub send_kyc_mail: Option<bool>,
}

/// The fields `POST /customer` accepts.
pub const FIELDS: [&str; 6] = [
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_country",
    "customer_type",
    "send_kyc_mail",
];

impl CreateCustomerBody {
    /// Wraps a JSON value.
    pub fn new(value: Value) -> Self {
        Self(value)
    }

    /// Checks types, required fields, unknown fields and every domain rule, collecting
    /// all failures.
    pub fn try_into_domain(self) -> Result<NewCustomer, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Value::Object(mut map) = self.0 else {
            errors.push(FieldError::new("body", "must be a JSON object"));
            return Err(errors);
        };
        let name = required_string(&mut map, "customer_name", &mut errors);
        let email = required_string(&mut map, "customer_email", &mut errors);
        let phone = required_string(&mut map, "customer_phone", &mut errors);
        let country = required_string(&mut map, "customer_country", &mut errors);
        let customer_type = optional(&mut map, "customer_type", &mut errors, |v| {
            v.as_str()
                .ok_or("must be a string")?
                .parse::<CustomerType>()
                .map_err(|_| "must be \"individual\" or \"business\"")
        });
        let send_kyc_mail = optional(&mut map, "send_kyc_mail", &mut errors, |v| {
            v.as_bool().ok_or("must be a boolean")
        });
        for unknown in map.keys() {
            errors.push(FieldError::new(
                unknown.as_str(),
                format!(
                    "is not a known field (expected one of: {})",
                    FIELDS.join(", ")
                ),
            ));
        }

        let name = name.and_then(|v| errors.collect("customer_name", CustomerName::parse(&v)));
        let email = email.and_then(|v| errors.collect("customer_email", CustomerEmail::parse(&v)));
        let country =
            country.and_then(|v| errors.collect("customer_country", CountryCode::parse(&v)));
        let phone =
            phone.and_then(|v| errors.collect("customer_phone", PhoneNumber::parse(&v, country)));

        match (name, email, phone, country, customer_type, send_kyc_mail) {
            (
                Some(name),
                Some(email),
                Some(phone),
                Some(country),
                Some(customer_type),
                Some(send),
            ) if errors.is_empty() => Ok(NewCustomer {
                name,
                email,
                phone,
                country,
                customer_type: customer_type.unwrap_or_default(),
                send_kyc_mail: send.unwrap_or(true),
            }),
            _ => Err(errors),
        }
    }
}

fn required_string(
    map: &mut Map<String, Value>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let result = match map.remove(field) {
        None => Err("is required".to_owned()),
        Some(Value::Null) => Err("must not be null".to_owned()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("must be a string".to_owned()),
    };
    errors.collect(field, result)
}

/// An optional field: absent or `null` gives `Some(None)`; a bad value records an error
/// and gives `None`.
fn optional<T>(
    map: &mut Map<String, Value>,
    field: &str,
    errors: &mut ValidationErrors,
    parse: impl FnOnce(&Value) -> Result<T, &'static str>,
) -> Option<Option<T>> {
    match map.remove(field) {
        None | Some(Value::Null) => Some(None),
        Some(value) => errors
            .collect(field, parse(&value).map_err(str::to_owned))
            .map(Some),
    }
}

/// The success envelope shared by every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `"success"`.
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    /// The HTTP status, repeated.
    #[schema(example = 201)]
    pub status_code: u16,
    /// A short human-readable message.
    #[schema(value_type = String, example = "Customer created successfully")]
    pub message: &'static str,
    /// The payload.
    pub data: T,
}

/// A customer as the API shows it: the seed's fields plus `phone` and `country`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!(crate::openapi::seed_customer_example()))]
pub struct CustomerData {
    /// Our customer id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address as given.
    pub email: String,
    /// Phone in E.164.
    pub phone: String,
    /// ISO 3166-1 alpha-3.
    pub country: String,
    /// `individual` or `business`.
    #[serde(rename = "type")]
    #[schema(value_type = CustomerKind)]
    pub customer_type: &'static str,
    /// Hosted KYC flow.
    pub kyc_link: String,
    /// Terms-of-service acceptance page.
    pub tos_link: String,
    /// The provider's KYC status.
    pub kyc_status: String,
    /// The provider's rejection reasons, as given.
    #[schema(value_type = Vec<serde_json::Value>)]
    pub rejection_reasons: Vec<Value>,
    /// The provider's terms-of-service status.
    pub tos_status: String,
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The provider's customer id, once it has one.
    pub customer_id: Option<String>,
    /// The provider's inquiry type, when reported.
    pub persona_inquiry_type: Option<String>,
    /// Where the KYC e-mail stands: `queued`, `sent`, `failed` or `not_requested`.
    #[schema(value_type = KycMailState)]
    pub kyc_mail_status: &'static str,
}

impl From<Customer> for CustomerData {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.to_string(),
            full_name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            country: c.country.alpha3().to_owned(),
            customer_type: c.customer_type.as_str(),
            kyc_link: c.kyc.kyc_link,
            tos_link: c.kyc.tos_link,
            kyc_status: c.kyc.kyc_status,
            rejection_reasons: c.kyc.rejection_reasons,
            tos_status: c.kyc.tos_status,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            customer_id: c.kyc.provider_customer_id,
            persona_inquiry_type: c.kyc.persona_inquiry_type,
            kyc_mail_status: c.kyc_mail_status.as_str(),
        }
    }
}

/// Registers a customer for the authenticated account: obtains a hosted KYC link from the
/// KYC provider, stores the customer and (unless `send_kyc_mail` is false) e-mails the links.
#[utoipa::path(
    post,
    path = "/customer",
    tag = "customers",
    operation_id = "create_customer",
    request_body(content = CreateCustomerRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Customer created", body = Envelope<CustomerData>),
        (status = 400, description = "Invalid request: `details` names every bad field", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 409, description = "The account already has a customer with this e-mail", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "The KYC provider rejected the customer", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 502, description = "The KYC provider is unavailable", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 504, description = "The KYC provider did not answer in time", body = ErrorBody),
    )
)]
#[tracing::instrument(name = "http.create_customer", skip_all, fields(account_id = %account.0))]
pub async fn create_customer(
    account: AuthenticatedAccount,
    body: web::Json<CreateCustomerBody>,
    use_case: web::Data<dyn CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    let input = body
        .into_inner()
        .try_into_domain()
        .map_err(|e| ApiError::validation(&e))?;
    let customer = use_case.create_customer(account.0, input).await?;
    Ok(HttpResponse::Created().json(Envelope {
        status: "success",
        status_code: 201,
        message: "Customer created successfully",
        data: CustomerData::from(customer),
    }))
}

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
        (status = 200, description = "The customer", body = Envelope<CustomerData>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 404, description = "No such customer of this account", body = ErrorBody),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
#[tracing::instrument(name = "http.get_customer", skip_all, fields(account_id = %account.0))]
pub async fn get_customer(
    account: AuthenticatedAccount,
    id: web::Path<String>,
    use_case: web::Data<dyn ReadCustomers>,
) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let customer = use_case
        .get_customer(account.0, CustomerId(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Envelope {
        status: "success",
        status_code: 200,
        message: "Customer retrieved successfully",
        data: CustomerData::from(customer),
    }))
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
    /// Exact KYC status (e.g. `not_started`, `approved`).
    #[param(min_length = 1, max_length = 64)]
    pub kyc_status: Option<String>,
}

/// Default and largest page size.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

impl ListParams {
    /// Validates every parameter, naming each bad one.
    pub fn try_into_query(self) -> Result<ListCustomers, ValidationErrors> {
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
                    uuid::Uuid::parse_str(raw).map_err(|_| "must be a customer id".to_owned()),
                )
                .map(|id| Some(CustomerId(id))),
        };
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
        let kyc_status = match self.kyc_status {
            Some(s) if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) => {
                errors.push(FieldError::new(
                    "kyc_status",
                    "must be a KYC status such as not_started or approved",
                ));
                None
            }
            other => Some(other),
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

/// Query-string settings: every failure in the API's own error shape.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::invalid_parameter("query", &err.to_string()).into())
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
        (status = 401, description = "Missing, invalid or expired token", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer challenge"))),
        (status = 500, description = "Unexpected error", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
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
    Ok(HttpResponse::Ok().json(ListResponse {
        status: "success",
        status_code: 200,
        data: page.customers.into_iter().map(CustomerData::from).collect(),
        has_more: page.has_more,
    }))
}
