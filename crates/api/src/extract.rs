//! Settings of actix's JSON and query extractors: the body size limit, and every
//! extractor failure answered in the API's own error shape.

use actix_web::error::JsonPayloadError;
use actix_web::web;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// JSON extractor settings for every route: 64 KiB limit, `application/json` required,
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

/// Query-string settings: every failure in the API's own error shape.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::invalid_parameter("query", &err.to_string()).into())
}
