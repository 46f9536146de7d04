//! One JSON error shape for every failure, `{"error", "code", "details"?}`, and the
//! mapping from each use-case error variant to exactly one status.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::ValidationErrors;
use ports::CreateCustomerError;

mod customers;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "Invalid request", "code": "invalid_request", "details": {"customer_email": "must be a valid e-mail address at an internet domain"}}))]
pub struct ErrorBody {
    /// Short human-readable message.
    pub error: String,
    /// Stable snake_case code for programs.
    #[schema(value_type = String, example = "invalid_request")]
    pub code: &'static str,
    /// Extra detail, e.g. each invalid field and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub details: Option<serde_json::Value>,
}

/// Most fields a `400 invalid_request` lists in `details`.
pub const MAX_LISTED_FIELDS: usize = 20;

/// An error ready to be sent: a status, a body, and the headers the status calls for.
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    www_authenticate: Option<String>,
    retry_after_secs: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: message.into(),
                code,
                details: None,
            },
            www_authenticate: None,
            retry_after_secs: None,
        }
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.body.details = Some(details);
        self
    }

    /// `400 invalid_request`, naming every bad field, up to [`MAX_LISTED_FIELDS`] of them:
    /// a body of thousands of bad keys must not buy an answer many times its own size.
    /// The fields left out are counted in `error`.
    pub fn validation(errors: &ValidationErrors) -> Self {
        let mut details = serde_json::Map::new();
        let mut left_out = std::collections::HashSet::new();
        for e in errors.errors() {
            if details.len() < MAX_LISTED_FIELDS || details.contains_key(&e.field) {
                details.insert(e.field.clone(), e.message.clone().into());
            } else {
                left_out.insert(e.field.as_str());
            }
        }
        let message = match left_out.len() {
            0 => "Invalid request".to_owned(),
            1 => "Invalid request (1 more invalid field not listed)".to_owned(),
            n => format!("Invalid request ({n} more invalid fields not listed)"),
        };
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message).with_details(details.into())
    }

    /// `400 invalid_json`: the body is not JSON at all.
    pub fn malformed_json(reason: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", "Invalid request")
            .with_details(serde_json::json!({ "body": reason }))
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body is larger than {limit} bytes"),
        )
    }

    /// `415 unsupported_media_type`: not JSON, or JSON in a charset other than UTF-8
    /// (the only one JSON may be exchanged in, RFC 8259 §8.1).
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json, with no charset or charset=utf-8",
        )
    }

    /// `431 request_header_fields_too_large`, saying which limit was passed.
    pub fn header_fields_too_large(message: String) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            message,
        )
    }

    /// `401` for a request without usable credentials (RFC 6750: no error code).
    pub fn missing_credentials() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A bearer token is required",
        );
        e.www_authenticate = Some(r#"Bearer realm="customer-onboarding""#.into());
        e
    }

    /// `401` for a token that is malformed, forged, expired or otherwise unacceptable.
    pub fn invalid_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The bearer token is invalid or expired",
        );
        e.www_authenticate =
            Some(r#"Bearer realm="customer-onboarding", error="invalid_token""#.into());
        e
    }

    /// Sends `Retry-After` with this error.
    pub(crate) fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// `503 service_unavailable`, with `Retry-After`.
    pub fn service_unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable",
        );
        e.retry_after_secs = Some(1);
        e
    }

    /// `429 too_many_requests`, with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Too many failed attempts; try again later",
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// `401 invalid_credentials`: one answer for unknown account, wrong secret and
    /// disabled account.
    pub fn invalid_credentials() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Invalid account id or app secret",
        );
        e.www_authenticate = Some(r#"Bearer realm="customer-onboarding""#.into());
        e
    }

    /// `400 invalid_request` for one bad parameter.
    pub fn invalid_parameter(name: &str, message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request",
        )
        .with_details(serde_json::json!({ name: message }))
    }

    /// `400 idempotency_key_required`: keys are required and the request has none.
    pub fn idempotency_key_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "This request needs an Idempotency-Key header",
        )
    }

    /// `422 idempotency_key_reused`: the key was used for a request with other content.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a request with different content",
        )
    }

    /// `409 idempotency_key_in_use`, with `Retry-After`: a request with the key is still
    /// running.
    pub fn idempotency_key_in_use() -> Self {
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still in progress",
        );
        e.retry_after_secs = Some(1);
        e
    }

    /// `400 invalid_signature`: a provider event whose signature header is missing or
    /// malformed, or whose signature verifies under no configured key.
    pub fn invalid_signature() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "The event signature is missing or invalid",
        )
    }

    /// `400 stale_event`: a signed provider event whose timestamp is too old or too far
    /// ahead (the provider signs every retry afresh).
    pub fn stale_event() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "stale_event",
            "The event timestamp is outside the accepted window",
        )
    }

    /// `422 unknown_value`: a provider event with a value the service does not know yet,
    /// refused so that the provider retries it.
    pub fn unknown_value(field: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_value",
            "The event carries a value this service does not know",
        )
        .with_details(serde_json::json!({ "field": field }))
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
        )
    }

    /// `500 internal_error`. The cause must already be logged; it is never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    }

    /// The status this error is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body this error is sent with, exactly as [`ResponseError::error_response`]
    /// writes it (the copy an idempotency key keeps).
    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body).unwrap_or_default()
    }
}

// Deliberately terse: the middleware logs this, and details may quote client input.
impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiError({} {})", self.status.as_u16(), self.body.code)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(challenge) = self
            .www_authenticate
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        response.json(&self.body)
    }
}

/// Logs a failure's whole cause chain once, here at the edge.
pub(crate) fn log_chain(message: &str, error: &(dyn std::error::Error + 'static)) {
    let mut chain = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    tracing::error!(error.chain = %chain.join(": "), "{message}");
}

impl From<CreateCustomerError> for ApiError {
    fn from(e: CreateCustomerError) -> Self {
        match &e {
            CreateCustomerError::Duplicate => Self::customer_exists(),
            CreateCustomerError::Erased => Self::customer_deleted(),
            CreateCustomerError::KycRejected { message } => Self::kyc_rejected(message),
            CreateCustomerError::KycTimeout => {
                log_chain("KYC provider timed out", &e);
                Self::kyc_timeout()
            }
            CreateCustomerError::KycUnavailable(_) => {
                log_chain("KYC provider unavailable", &e);
                Self::kyc_unavailable()
            }
            CreateCustomerError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            CreateCustomerError::Unexpected(_) => {
                log_chain("unexpected error while creating a customer", &e);
                Self::internal()
            }
        }
    }
}

impl From<ports::ReadCustomersError> for ApiError {
    fn from(e: ports::ReadCustomersError) -> Self {
        match &e {
            ports::ReadCustomersError::UnknownCursor => Self::invalid_parameter(
                "starting_after",
                "does not name a customer of this account",
            ),
            ports::ReadCustomersError::StoreUnavailable(_) => {
                log_chain("customer store unavailable", &e);
                Self::service_unavailable()
            }
            ports::ReadCustomersError::Unexpected(_) => {
                log_chain("unexpected error while reading customers", &e);
                Self::internal()
            }
        }
    }
}

impl From<ports::ApplyError> for ApiError {
    fn from(e: ports::ApplyError) -> Self {
        match &e {
            ports::ApplyError::StoreUnavailable(_) | ports::ApplyError::Contention => {
                log_chain("a KYC report could not be applied", &e);
                Self::service_unavailable()
            }
            ports::ApplyError::Unexpected(_) => {
                log_chain("unexpected error while applying a KYC report", &e);
                Self::internal()
            }
        }
    }
}

impl From<ports::LoginError> for ApiError {
    fn from(e: ports::LoginError) -> Self {
        match &e {
            ports::LoginError::InvalidCredentials => Self::invalid_credentials(),
            ports::LoginError::Unavailable(_) => {
                log_chain("account store unavailable", &e);
                Self::service_unavailable()
            }
            ports::LoginError::Unexpected(_) => {
                log_chain("unexpected error during login", &e);
                Self::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::FieldError;

    fn errors(fields: impl IntoIterator<Item = String>) -> ValidationErrors {
        let mut errors = ValidationErrors::new();
        for field in fields {
            errors.push(FieldError::new(field, "is wrong"));
        }
        errors
    }

    #[test]
    fn validation_lists_twenty_fields_and_counts_the_rest() {
        let listed = ApiError::validation(&errors((0..20).map(|i| format!("f{i}"))));
        assert_eq!(listed.body.error, "Invalid request");
        assert_eq!(listed.body.details.unwrap().as_object().unwrap().len(), 20);

        let one_more = ApiError::validation(&errors((0..21).map(|i| format!("f{i}"))));
        assert_eq!(
            one_more.body.error,
            "Invalid request (1 more invalid field not listed)"
        );
        // A field named twice is one field, listed or not.
        let many = ApiError::validation(&errors(
            (0..7020)
                .map(|i| format!("f{i}"))
                .chain(["f0".into(), "f7000".into()]),
        ));
        assert_eq!(
            many.body.error,
            "Invalid request (7000 more invalid fields not listed)"
        );
        let details = many.body.details.unwrap();
        assert_eq!(details.as_object().unwrap().len(), 20);
        assert!(details.get("f0").is_some() && details.get("f7000").is_none());
    }
}
