//! The `Idempotency-Key` request header, as an extractor for the routes that honour it
//! (routes that do not take it ignore the header). A malformed key is `400 invalid_request`
//! naming the header; a missing one is `400 idempotency_key_required` when keys are
//! required.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ports::{Idempotency, IdempotencyKey};

use crate::error::ApiError;

/// The header's name, as the API documents it.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The response header that marks a replayed answer.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// The header as the OpenAPI document shows it, declared once for every operation that
/// honours it (`params(IdempotencyKeyParam)`). Never read: [`IdempotencyKeyHeader`] is.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyParam {
    /// Makes the request safe to retry: 1–255 printable ASCII characters, bare or as a
    /// quoted string (`"abc"` is the key `abc`). A retry with the same key and the same body
    /// (whitespace and key order aside) within `IDEMPOTENCY_TTL_SECONDS` (default 24 hours)
    /// gets the first answer again, byte for byte, with `Idempotent-Replayed: true`; nothing
    /// is created twice. Required when the server runs with `IDEMPOTENCY_KEY_REQUIRED=true`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 257,
        pattern = "^[ -~]+$",
        example = "8e03978e-40d5-43e8-bc93-6894a57f9324"
    )]
    #[expect(
        dead_code,
        reason = "declares the documented header; the extractor reads it"
    )]
    idempotency_key: Option<String>,
}

/// The request's idempotency key, if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl IdempotencyKeyHeader {
    /// Reads the header; `required` makes its absence an error.
    pub fn read(req: &HttpRequest, required: bool) -> Result<Self, ApiError> {
        let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
        let Some(value) = values.next() else {
            return if required {
                Err(ApiError::idempotency_key_required())
            } else {
                Ok(Self(None))
            };
        };
        if values.next().is_some() {
            return Err(ApiError::invalid_parameter(
                IDEMPOTENCY_KEY,
                "must be given once",
            ));
        }
        let text = value
            .to_str()
            .map_err(|_| ApiError::invalid_parameter(IDEMPOTENCY_KEY, "must be printable ASCII"))?;
        IdempotencyKey::parse(text)
            .map(|key| Self(Some(key)))
            .map_err(|message| ApiError::invalid_parameter(IDEMPOTENCY_KEY, &message))
    }
}

impl FromRequest for IdempotencyKeyHeader {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let required = req
            .app_data::<web::Data<Idempotency>>()
            .is_some_and(|idempotency| idempotency.key_required());
        ready(Self::read(req, required))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn read(headers: &[&str], required: bool) -> Result<Option<String>, String> {
        let mut request = TestRequest::default();
        for value in headers {
            request = request.append_header((IDEMPOTENCY_KEY, *value));
        }
        IdempotencyKeyHeader::read(&request.to_http_request(), required)
            .map(|h| h.0.map(|k| k.as_str().to_owned()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_bare_or_quoted_key_is_read_as_the_same_key() {
        assert_eq!(read(&["abc"], false).unwrap().as_deref(), Some("abc"));
        assert_eq!(read(&["\"abc\""], false).unwrap().as_deref(), Some("abc"));
    }

    #[test]
    fn a_missing_key_is_fine_unless_keys_are_required() {
        assert_eq!(read(&[], false).unwrap(), None);
        assert_eq!(read(&[], true).unwrap_err(), "400 idempotency_key_required");
    }

    #[test]
    fn a_malformed_key_or_two_keys_are_refused_naming_the_header() {
        let long = "k".repeat(256);
        for headers in [vec![""], vec![long.as_str()], vec!["\"abc"], vec!["a", "b"]] {
            assert_eq!(
                read(&headers, false).unwrap_err(),
                "400 invalid_request",
                "{headers:?}"
            );
        }
        let reply = IdempotencyKeyHeader::read(
            &TestRequest::default()
                .insert_header((
                    IDEMPOTENCY_KEY,
                    actix_web::http::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
                ))
                .to_http_request(),
            false,
        )
        .unwrap_err();
        assert_eq!(reply.status().as_u16(), 400);
    }
}
