//! The JSON body extractor every route with a body uses, and the query-string settings:
//! every failure is answered in the API's own error shape.
//!
//! [`Json`] reads the body with actix's own reader (content type, `Content-Encoding`, the
//! size limit), but stricter than actix's `web::Json`: a `charset` other than UTF-8 is `415`
//! (actix's JSON config can only widen what it accepts, never narrow it), and an object that
//! gives one key twice is `400 invalid_request` naming the key (serde_json would silently keep
//! the last value).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::{JsonBody, Payload};
use actix_web::error::JsonPayloadError;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::strict_json::StrictValue;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body read as a `T` (often a `serde_json::Value` that the handler reads
/// field by field). See the module documentation for what it refuses.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json::<T>(req, payload, MAX_BODY_BYTES);
        Box::pin(async move { body.await.map(Json) })
    }
}

/// Reads a JSON body of at most `limit` bytes as a `T`, with every check [`Json`] makes:
/// for a route whose limit is not [`MAX_BODY_BYTES`].
pub fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Pin<Box<dyn Future<Output = Result<T, ApiError>>>> {
    if !charset_is_utf8(req) {
        return Box::pin(std::future::ready(Err(ApiError::unsupported_media_type())));
    }
    let body = JsonBody::<StrictValue>::new(req, payload, None, true).limit(limit);
    Box::pin(async move {
        let strict = body.await.map_err(|e| json_error(&e, limit))?;
        if let Some(key) = strict.duplicate {
            return Err(ApiError::invalid_parameter(
                &key,
                "is given more than once in the body",
            ));
        }
        T::deserialize(strict.value)
            .map_err(|e| ApiError::invalid_parameter("body", &e.to_string()))
    })
}

/// True unless the `Content-Type` names a charset other than UTF-8 (in any case). An
/// unparsable or non-JSON type is left to actix's reader, which refuses it with `415`.
fn charset_is_utf8(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => mime
            .get_param(actix_web::mime::CHARSET)
            .is_none_or(|charset| charset.as_str().eq_ignore_ascii_case("utf-8")),
        _ => true,
    }
}

fn json_error(err: &JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::payload_too_large(limit)
        }
        JsonPayloadError::Deserialize(e) if e.is_eof() && e.line() == 1 && e.column() == 0 => {
            ApiError::malformed_json("request body is empty")
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn utf8_or_no_charset_passes_and_any_other_charset_does_not() {
        for (content_type, utf8) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("application/json; charset=UTF-8", true),
            ("application/json;charset=\"utf-8\"", true),
            ("application/json; charset=latin1", false),
            ("application/json; charset=ISO-8859-1", false),
            ("application/json; charset=utf-16", false),
            ("application/json; charset=utf8", false),
        ] {
            let req = TestRequest::default()
                .insert_header(("content-type", content_type))
                .to_http_request();
            assert_eq!(charset_is_utf8(&req), utf8, "{content_type}");
        }
    }
}
