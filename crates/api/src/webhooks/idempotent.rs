//! `POST /webhook-endpoints` under an `Idempotency-Key`: what of a registration's answer is
//! stored with the key. The signing secret is shown once, in the first answer, and never
//! kept outside its encrypted column: the stored copy — and so every replay — is the
//! same answer, byte for byte, with `"secret": null`.

use actix_web::http::StatusCode;
use domain::CustomerId;
use ports::{CreatedEndpoint, StoredResponse};
use serde_json::Value;

use super::data::EndpointData;
use crate::envelope::Envelope;
use crate::idempotency::Operation;

/// The registration's rules: the new endpoint (`201`) is stored by the use case with the
/// endpoint, without its secret; every failure (`400`, `409 endpoint_limit_reached`, `500`,
/// `503`) releases the key, so a retry with it runs again (after a `409`, once an endpoint
/// was deleted, say).
pub static CREATE_ENDPOINT: Operation<CreatedEndpoint> = Operation {
    stores_error: stores_no_failure,
    render: created,
    redact: Some(without_secret),
    customer_of: names_no_customer,
};

fn stores_no_failure(_: StatusCode) -> bool {
    false
}

fn names_no_customer(_: &CreatedEndpoint) -> Option<CustomerId> {
    None
}

/// The `201` answer to a registration, with the endpoint's secret: as sent, never as stored.
pub fn created(created: &CreatedEndpoint) -> StoredResponse {
    let envelope = Envelope::success(
        201,
        "Webhook endpoint created",
        EndpointData::with_secret(created.endpoint.clone(), &created.secret),
    );
    StoredResponse {
        status: 201,
        content_type: Some(actix_web::mime::APPLICATION_JSON.essence_str().to_owned()),
        location: None,
        // Plain strings, booleans and lists: serialising them cannot fail.
        body: serde_json::to_vec(&envelope).unwrap_or_default(),
    }
}

/// The copy of an answer that is stored: `data.secret` replaced by `null` in place, so the
/// rest stays byte for byte what was sent. The result is checked by parsing it; should the
/// replacement not give exactly the answer without its secret, the answer is written anew
/// from its parsed form instead (same content, keys in another order) — and a body that is
/// not JSON is not kept at all. Either way no secret is stored.
pub fn without_secret(mut answer: StoredResponse) -> StoredResponse {
    let Ok(mut shown) = serde_json::from_slice::<Value>(&answer.body) else {
        tracing::error!("a registration's answer is not JSON; its body is not kept");
        answer.body = Vec::new();
        return answer;
    };
    let Some(secret) = shown
        .pointer_mut("/data/secret")
        .map(|slot| std::mem::replace(slot, Value::Null))
    else {
        return answer;
    };
    let Value::String(secret) = secret else {
        return answer;
    };
    let pair = format!("\"secret\":{}", Value::String(secret));
    let in_place = replace_once(&answer.body, pair.as_bytes(), b"\"secret\":null");
    answer.body = match in_place {
        Some(body) if serde_json::from_slice::<Value>(&body).ok().as_ref() == Some(&shown) => body,
        // Plain JSON values always serialise.
        _ => serde_json::to_vec(&shown).unwrap_or_default(),
    };
    answer
}

/// `haystack` with its one occurrence of `needle` replaced; `None` unless there is exactly
/// one.
fn replace_once(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let mut found = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at);
    let at = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let mut out = Vec::with_capacity(haystack.len());
    out.extend_from_slice(&haystack[..at]);
    out.extend_from_slice(with);
    out.extend_from_slice(&haystack[at + needle.len()..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{
        AccountId, EndpointDescription, EndpointId, EventFilter, SigningSecret, UrlRules,
        WebhookEndpoint, WebhookUrl,
    };
    use serde_json::json;
    use uuid::Uuid;

    fn registration() -> CreatedEndpoint {
        CreatedEndpoint {
            endpoint: WebhookEndpoint {
                id: EndpointId(Uuid::from_u128(0xe1)),
                account_id: AccountId(Uuid::from_u128(1)),
                url: WebhookUrl::parse("https://hooks.example.com/in", UrlRules::default())
                    .unwrap(),
                // A description that spells out the secret's key cannot fool the redaction.
                description: EndpointDescription::parse(r#"say "secret":"x""#).unwrap(),
                filter: EventFilter::all(),
                enabled: true,
                created_at: "2026-01-02T03:04:05.678Z".parse().unwrap(),
                updated_at: None,
            },
            secret: SigningSecret::from_key(&[5; 32]),
        }
    }

    fn body(answer: &StoredResponse) -> String {
        String::from_utf8(answer.body.clone()).unwrap()
    }

    #[test]
    fn the_stored_copy_is_the_answer_byte_for_byte_with_a_null_secret() {
        let registration = registration();
        let sent = created(&registration);
        let secret = registration.secret.expose().to_owned();
        assert!(body(&sent).contains(&secret));
        let kept = without_secret(sent.clone());
        assert_eq!(
            body(&kept),
            body(&sent).replace(&format!("\"secret\":\"{secret}\""), "\"secret\":null")
        );
        assert!(!body(&kept).contains(&secret));
        let kept: Value = serde_json::from_slice(&kept.body).unwrap();
        assert_eq!(kept["data"]["secret"], Value::Null);
        assert_eq!(kept["data"]["description"], r#"say "secret":"x""#);
        assert_eq!((sent.status, sent.location), (201, None));
    }

    #[test]
    fn an_answer_the_replacement_cannot_serve_is_kept_rewritten_and_still_without_its_secret() {
        // The secret's pair spelled twice: no in-place replacement is trusted.
        let twice = br#"{"data":{"secret":"whsec_a","secret":"whsec_a"}}"#.to_vec();
        let answer = StoredResponse {
            status: 201,
            content_type: None,
            location: None,
            body: twice,
        };
        let kept = without_secret(answer);
        assert!(!body(&kept).contains("whsec_a"), "{}", body(&kept));
        assert_eq!(
            serde_json::from_slice::<Value>(&kept.body).unwrap(),
            json!({"data": {"secret": null}})
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_not_kept_and_one_without_a_secret_is_kept_as_is() {
        let broken = StoredResponse {
            status: 201,
            content_type: None,
            location: None,
            body: b"whsec_a".to_vec(),
        };
        assert!(without_secret(broken).body.is_empty());
        let plain = StoredResponse {
            status: 201,
            content_type: None,
            location: None,
            body: br#"{"data": {"id": 1}}"#.to_vec(),
        };
        assert_eq!(without_secret(plain.clone()), plain);
    }
}
