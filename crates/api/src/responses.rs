//! Responses that many operations document alike, named once for the `responses(...)` of
//! `#[utoipa::path]` (`responses((status = 200, …), BearerErrors)`). Each is the same
//! response object the inline `(status = …, body = ErrorBody, …)` tuple gave; an operation
//! whose answer to a status differs still writes that status out itself.

use std::collections::BTreeMap;

use utoipa::openapi::{RefOr, Response};
use utoipa::IntoResponses;

use crate::error::ErrorBody;

/// `401` of an operation behind the bearer token.
#[derive(IntoResponses)]
#[response(
    status = 401,
    description = "Missing, invalid or expired token",
    headers(("WWW-Authenticate" = String, description = "Bearer challenge"))
)]
pub struct Unauthorized(pub ErrorBody);

/// `431` of an operation behind the bearer token.
#[derive(IntoResponses)]
#[response(
    status = 431,
    description = "Authorization header over 16 KiB, or request headers over 32 KiB in all"
)]
pub struct BearerHeadersTooLarge(pub ErrorBody);

/// `431` of an operation without a bearer token.
#[derive(IntoResponses)]
#[response(status = 431, description = "Request headers over 32 KiB in all")]
pub struct HeadersTooLarge(pub ErrorBody);

/// `500`.
#[derive(IntoResponses)]
#[response(status = 500, description = "Unexpected error")]
pub struct Unexpected(pub ErrorBody);

/// `503` when the database is down, with `Retry-After`.
#[derive(IntoResponses)]
#[response(
    status = 503,
    description = "The database is unavailable",
    headers(("Retry-After" = u32, description = "Seconds to wait"))
)]
pub struct DatabaseUnavailable(pub ErrorBody);

/// `413` of a JSON body over the default limit.
#[derive(IntoResponses)]
#[response(status = 413, description = "Body over 64 KiB")]
pub struct BodyTooLarge(pub ErrorBody);

/// `415` of a body that is not JSON.
#[derive(IntoResponses)]
#[response(
    status = 415,
    description = "Content-Type is not application/json, or names a charset other than UTF-8"
)]
pub struct NotJson(pub ErrorBody);

/// A set of the responses above, documented together.
macro_rules! all_of {
    ($(#[$doc:meta])* $name:ident = $($part:ty),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let mut all = BTreeMap::new();
                $(all.extend(<$part as IntoResponses>::responses());)+
                all
            }
        }
    };
}

all_of! {
    /// `500` and `503` (the database is down).
    ServerErrors = Unexpected, DatabaseUnavailable
}

all_of! {
    /// `401` and `431` of an operation behind the bearer token.
    AuthErrors = Unauthorized, BearerHeadersTooLarge
}

all_of! {
    /// What any operation behind the bearer token may answer: `401`, `431`, `500` and `503`
    /// (the database is down).
    BearerErrors = AuthErrors, ServerErrors
}

all_of! {
    /// `413` and `415` of a JSON body under the default limit.
    JsonBodyErrors = BodyTooLarge, NotJson
}

/// `404` of an operation on one of the account's customers.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such customer of this account")]
pub struct CustomerNotFound(pub ErrorBody);

/// `404` of an operation on one of the account's webhook endpoints.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such endpoint of this account")]
pub struct EndpointNotFound(pub ErrorBody);
