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
