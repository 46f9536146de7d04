//! The success envelope every endpoint wraps its payload in:
//! `{"status": "success", "status_code", "message", "data"}`.

use serde::Serialize;
use utoipa::ToSchema;

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

impl<T> Envelope<T> {
    /// A success envelope for `status_code` (which the response must also carry).
    pub fn success(status_code: u16, message: &'static str, data: T) -> Self {
        Self {
            status: "success",
            status_code,
            message,
            data,
        }
    }
}

/// About how many bytes one customer takes in a JSON body; a read renders into a buffer of
/// that size per customer from the start, instead of growing one from nothing by doubling
/// (a page of 20 customers, ~11 KB, was copied a dozen times on its way out).
pub(crate) const CUSTOMER_JSON_BYTES: usize = 640;

/// `value` as the JSON body of `response`, rendered into a buffer of `capacity` bytes to
/// begin with; otherwise as actix's `HttpResponseBuilder::json` (its content type, and a
/// `500` if the value cannot be rendered).
pub(crate) fn json_with_capacity(
    response: &mut actix_web::HttpResponseBuilder,
    value: &impl Serialize,
    capacity: usize,
) -> actix_web::HttpResponse {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => response
            .insert_header(actix_web::http::header::ContentType::json())
            .body(body),
        Err(error) => actix_web::HttpResponse::from_error(
            actix_web::error::JsonPayloadError::Serialize(error),
        ),
    }
}
