//! Conditional requests on a customer (RFC 9110 §8.8.3, §13.1.1): the strong `ETag`
//! `"<version>"` that single-customer answers carry, and `If-Match`, read into the
//! use cases' [`Precondition`].
//!
//! `If-Match` uses the strong comparison: a weak tag (`W/"3"`) never matches, nor does a
//! tag this service never sends (`"abc"`). `*` matches any existing customer, which is no
//! more than a change or an erasure needs anyway. Several tags (in one field or repeated
//! fields) match if any does. A value that is not `*` nor a list of entity tags is
//! `400 invalid_request` naming `If-Match`.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, HeaderValue, ETAG, IF_MATCH};
use actix_web::{FromRequest, HttpRequest};
use ports::Precondition;

use crate::error::ApiError;

/// The `ETag` header of an answer showing a customer at `version`.
pub fn etag(version: i64) -> (HeaderName, HeaderValue) {
    // Digits and quotes only: always a valid header value.
    let value = HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    (ETAG, value)
}

/// The request's `If-Match`, as a [`Precondition`] (`Any` when there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Precondition);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut fields = req.headers().get_all(IF_MATCH).peekable();
        if fields.peek().is_none() {
            return ready(Ok(Self(Precondition::Any)));
        }
        let mut any = false;
        let mut versions = Vec::new();
        for field in fields {
            let Some(tags) = field.to_str().ok().and_then(parse) else {
                return ready(Err(malformed()));
            };
            match tags {
                Tags::Any => any = true,
                Tags::List(list) => versions.extend(list),
            }
        }
        ready(Ok(Self(if any {
            Precondition::Any
        } else {
            Precondition::OneOf(versions)
        })))
    }
}

fn malformed() -> ApiError {
    ApiError::invalid_parameter(
        "If-Match",
        "must be * or a list of entity tags such as \"3\" (the ETag of the customer as read)",
    )
}

/// One `If-Match` field.
enum Tags {
    /// `*`.
    Any,
    /// The versions named by strong tags; tags that name none are left out.
    List(Vec<i64>),
}

/// Reads one field value: `*`, or `#entity-tag` where `entity-tag = [ "W/" ] DQUOTE
/// *etagc DQUOTE` and `etagc` is any visible character but `"` (so a tag may hold a
/// comma). `None` when it is neither.
fn parse(value: &str) -> Option<Tags> {
    let value = value.trim_matches([' ', '\t']);
    if value == "*" {
        return Some(Tags::Any);
    }
    let mut versions = Vec::new();
    let mut rest = value;
    let mut tags = 0;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (weak, tagged) = match rest.strip_prefix("W/") {
            Some(tagged) => (true, tagged),
            None => (false, rest),
        };
        let opaque_and_rest = tagged.strip_prefix('"')?;
        let end = opaque_and_rest.find('"')?;
        let opaque = &opaque_and_rest[..end];
        if !opaque
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b))
        {
            return None;
        }
        rest = &opaque_and_rest[end + 1..];
        // Between two tags: spaces, then a comma (or the end).
        let after = rest.trim_start_matches([' ', '\t']);
        if !(after.is_empty() || after.starts_with(',')) {
            return None;
        }
        tags += 1;
        if !weak {
            // Only what `etag` sends can match: plain decimal digits.
            if let Some(version) = opaque
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| opaque.parse::<i64>().ok())
                .flatten()
            {
                versions.push(version);
            }
        }
    }
    (tags > 0).then_some(Tags::List(versions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    async fn read(values: &[&str]) -> Result<Precondition, ApiError> {
        let mut req = TestRequest::default();
        for value in values {
            req = req.append_header((IF_MATCH, *value));
        }
        let (req, mut payload) = req.to_http_parts();
        IfMatch::from_request(&req, &mut payload).await.map(|m| m.0)
    }

    #[actix_web::test]
    async fn no_if_match_and_a_star_admit_any_version() {
        assert_eq!(read(&[]).await.unwrap(), Precondition::Any);
        assert_eq!(read(&["*"]).await.unwrap(), Precondition::Any);
        assert_eq!(read(&[" * "]).await.unwrap(), Precondition::Any);
    }

    #[actix_web::test]
    async fn strong_tags_name_versions_in_one_field_or_several() {
        assert_eq!(
            read(&["\"3\""]).await.unwrap(),
            Precondition::OneOf(vec![3])
        );
        assert_eq!(
            read(&["\"3\", \"5\",\"8\""]).await.unwrap(),
            Precondition::OneOf(vec![3, 5, 8])
        );
        assert_eq!(
            read(&["\"3\"", "\"4\""]).await.unwrap(),
            Precondition::OneOf(vec![3, 4])
        );
    }

    #[actix_web::test]
    async fn weak_and_foreign_tags_never_match() {
        for value in [
            "W/\"3\"",
            "\"abc\"",
            "\"a,b\"",
            "\"\"",
            "\"+3\"",
            "\"99999999999999999999\"",
        ] {
            assert_eq!(
                read(&[value]).await.unwrap(),
                Precondition::OneOf(vec![]),
                "{value}"
            );
        }
        assert_eq!(
            read(&["W/\"2\", \"7\""]).await.unwrap(),
            Precondition::OneOf(vec![7])
        );
    }

    #[actix_web::test]
    async fn anything_else_is_refused_naming_the_header() {
        for value in [
            "3",
            "\"3",
            "\"3\" \"4\"",
            "",
            ",",
            "*, \"3\"",
            "w/\"3\"",
            "\"3\"x",
        ] {
            let err = read(&[value]).await.unwrap_err();
            assert_eq!(err.status(), 400, "{value}");
            let body: serde_json::Value = serde_json::from_slice(&err.body_bytes()).unwrap();
            assert!(body["details"]["If-Match"].is_string(), "{value}: {body}");
        }
    }

    #[test]
    fn the_etag_is_the_version_quoted() {
        let (name, value) = etag(42);
        assert_eq!(name, ETAG);
        assert_eq!(value, "\"42\"");
    }
}
