//! Middleware for what every request and response needs whatever the route: oversized
//! request headers refused with `431` in the API's error shape, and the response headers
//! that keep tokens and personal data out of caches and every page out of other sites' frames.
//!
//! actix-http itself refuses a request head (request line and headers) over 128 KiB, or with
//! more than 96 headers, before any of this runs: it answers an empty `431` and closes the
//! connection, which a client still sending usually sees as a reset. Those limits are
//! constants in actix-http with no setting or hook, so this middleware sets lower ones of its
//! own, which are answered properly.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::ResponseError as _;

use crate::error::ApiError;

/// Largest accepted `Authorization` header value. Our tokens are about 300 bytes; 16 KiB
/// leaves room for any reasonable bearer token and refuses padding.
pub const MAX_AUTHORIZATION_BYTES: usize = 16 * 1024;

/// Largest accepted sum of all header names and values of one request.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The policy of every response that does not set its own: nothing may be loaded or framed.
/// JSON needs nothing; it only matters if a browser is tricked into rendering a response.
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Checks the request's headers against [`MAX_AUTHORIZATION_BYTES`] and
/// [`MAX_HEADER_BYTES`].
pub fn check_header_sizes(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut total = 0;
    for (name, value) in headers {
        if name == header::AUTHORIZATION && value.len() > MAX_AUTHORIZATION_BYTES {
            return Err(ApiError::header_fields_too_large(format!(
                "The Authorization header is larger than {MAX_AUTHORIZATION_BYTES} bytes"
            )));
        }
        total += name.as_str().len() + value.len();
    }
    if total > MAX_HEADER_BYTES {
        return Err(ApiError::header_fields_too_large(format!(
            "The request headers are larger than {MAX_HEADER_BYTES} bytes in all"
        )));
    }
    Ok(())
}

/// Middleware: refuses oversized headers with `431`, and gives every response
/// `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, and, unless the handler set
/// its own, `Cache-Control: no-store` and [`DEFAULT_CONTENT_SECURITY_POLICY`].
///
/// `no-store` is the default because almost every response carries a token or personal data
/// (login, refresh, every customer route and its errors); health and metrics answers must not
/// be served stale from a cache either. Only the bundled, versioned Swagger UI assets set a
/// long public `Cache-Control` of their own.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(refused) = check_header_sizes(req.headers()) {
        let mut response = req.into_response(refused.error_response());
        protect(response.headers_mut());
        return Ok(response.map_into_right_body());
    }
    // Handlers' errors arrive here as responses, and so do the load limits' refusals (`503`,
    // `408`, `413`) when this middleware is outside them, as it is meant to be.
    let mut response = next.call(req).await?.map_into_left_body();
    protect(response.headers_mut());
    Ok(response)
}

fn protect(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set_default(headers, CACHE_CONTROL, "no-store");
    set_default(
        headers,
        CONTENT_SECURITY_POLICY,
        DEFAULT_CONTENT_SECURITY_POLICY,
    );
}

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn an_authorization_header_of_16_kib_passes_and_one_byte_more_does_not() {
        let at_limit = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES - 7));
        assert!(check_header_sizes(&headers(&[("authorization", at_limit.clone())])).is_ok());
        let over = at_limit + "a";
        let refused = check_header_sizes(&headers(&[("authorization", over)])).unwrap_err();
        assert_eq!(refused.status().as_u16(), 431);
    }

    #[test]
    fn headers_of_32_kib_in_all_pass_and_one_byte_more_do_not() {
        // Eight headers of 4 KiB each, names included.
        let value = "v".repeat(4 * 1024 - "x-pad-0".len());
        let mut pairs: Vec<(String, String)> = (0..8)
            .map(|i| (format!("x-pad-{i}"), value.clone()))
            .collect();
        let borrowed: Vec<(&str, String)> =
            pairs.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        assert!(check_header_sizes(&headers(&borrowed)).is_ok());
        pairs[0].1.push('v');
        let borrowed: Vec<(&str, String)> =
            pairs.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let refused = check_header_sizes(&headers(&borrowed)).unwrap_err();
        assert_eq!(refused.status().as_u16(), 431);
    }
}
