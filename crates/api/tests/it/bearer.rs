//! The bearer token on protected routes: every way a token can be refused, and the
//! account check behind it.

use actix_web::http::{header, StatusCode};
use actix_web::test;
use api::JwtKeys;
use base64::Engine as _;
use ports::MockAccountStatus;
use serde_json::{json, Value};

use crate::support::{
    account, assert_error_shape, assert_unauthorized, call, claims, post_customer, seed_body, send,
    settings, signed, token, unreachable_use_case, Ports, Reply, SECRET,
};

async fn post_with_authorization(value: Option<String>) -> Reply {
    let mut request = test::TestRequest::post()
        .uri("/customer")
        .set_json(seed_body());
    if let Some(value) = value {
        request = request.insert_header((header::AUTHORIZATION, value));
    }
    send(unreachable_use_case(), request).await
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn status_answering(answer: fn() -> Result<bool, ports::RepositoryError>) -> MockAccountStatus {
    let mut status = MockAccountStatus::new();
    status
        .expect_is_active()
        .withf(|id| *id == account())
        .returning(move |_| answer());
    status
}

#[actix_web::test]
async fn create_returns_401_without_a_token() {
    assert_unauthorized(&post_with_authorization(None).await);
}

#[actix_web::test]
async fn create_returns_401_for_a_non_bearer_scheme() {
    assert_unauthorized(&post_with_authorization(Some(format!("Basic {}", token()))).await);
    assert_unauthorized(&post_with_authorization(Some("Bearer ".into())).await);
}

#[actix_web::test]
async fn create_returns_401_for_a_wrong_signature() {
    let forged = signed(
        jsonwebtoken::Algorithm::HS256,
        &claims(600),
        b"another-secret-another-secret-another",
    );
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {forged}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_an_expired_token() {
    let expired = signed(jsonwebtoken::Algorithm::HS256, &claims(-120), SECRET);
    let reply = post_with_authorization(Some(format!("Bearer {expired}"))).await;
    assert_unauthorized(&reply);
    assert_eq!(reply.body["code"], "invalid_token");
}

#[actix_web::test]
async fn create_returns_401_for_a_token_without_exp() {
    let mut c = claims(600);
    c.as_object_mut().unwrap().remove("exp");
    let no_exp = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {no_exp}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_alg_none() {
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(600))
    );
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {unsigned}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_another_algorithm_with_the_right_secret() {
    let hs512 = signed(jsonwebtoken::Algorithm::HS512, &claims(600), SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {hs512}"))).await);
}

#[actix_web::test]
async fn create_returns_401_when_sub_is_not_an_account_id() {
    let mut c = claims(600);
    c["sub"] = json!("admin");
    let token = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {token}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_a_wrong_issuer_or_audience() {
    for (claim, value) in [("iss", "someone-else"), ("aud", "another-api")] {
        let mut c = claims(600);
        c[claim] = json!(value);
        let token = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
        assert_unauthorized(&post_with_authorization(Some(format!("Bearer {token}"))).await);
    }
}

#[actix_web::test]
async fn create_checks_the_token_before_the_body() {
    let request = test::TestRequest::post()
        .uri("/customer")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload("not json");
    assert_unauthorized(&send(unreachable_use_case(), request).await);
}

#[actix_web::test]
async fn secrets_under_32_bytes_are_refused() {
    let short = settings(&[b'x'; 31]);
    assert!(JwtKeys::new(&short).is_err());
    assert!(!format!("{short:?}").contains("xxxx"));
}

#[actix_web::test]
async fn a_token_of_a_disabled_or_unknown_account_is_401() {
    let ports = Ports {
        status: status_answering(|| Ok(false)),
        ..Ports::new()
    };
    let reply = call(ports, post_customer().set_json(seed_body())).await;
    assert_unauthorized(&reply);
    assert_eq!(reply.body["code"], "invalid_token");
}

#[actix_web::test]
async fn a_token_check_that_cannot_reach_the_store_is_503() {
    let ports = Ports {
        status: status_answering(|| {
            Err(ports::RepositoryError::Unavailable(anyhow::anyhow!(
                "pool timed out"
            )))
        }),
        ..Ports::new()
    };
    let reply = call(ports, post_customer().set_json(seed_body())).await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}

/// Seconds since the epoch.
fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[actix_web::test]
async fn a_token_accepted_before_is_refused_once_it_expires() {
    let keys = crate::support::keys_with(SECRET);
    let short = signed(jsonwebtoken::Algorithm::HS256, &claims(1), SECRET);
    let exp = now_secs() + 1;
    assert_eq!(keys.verify(&short).unwrap(), account());
    assert_eq!(keys.verify(&short).unwrap(), account(), "recognised");
    while now_secs() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(keys.verify(&short).is_err(), "expired (no leeway here)");
}

#[actix_web::test]
async fn a_token_that_differs_from_one_accepted_before_is_checked_in_full() {
    let keys = crate::support::keys_with(SECRET);
    let good = signed(jsonwebtoken::Algorithm::HS256, &claims(600), SECRET);
    assert_eq!(keys.verify(&good).unwrap(), account());
    // Its signature changed in one character.
    let (unsigned, signature) = good.rsplit_once('.').unwrap();
    let mut changed = signature.to_owned().into_bytes();
    changed[0] = if changed[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{unsigned}.{}", String::from_utf8(changed).unwrap());
    assert!(keys.verify(&forged).is_err());
    // Other claims under its signature.
    let (_, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut other = claims(600);
    other["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let header = b64(&json!({"alg": "HS256", "typ": "JWT"}));
    assert!(keys
        .verify(&format!("{header}.{}.{signature}", b64(&other)))
        .is_err());
    // A token of another secret.
    let foreign = signed(
        jsonwebtoken::Algorithm::HS256,
        &claims(600),
        b"another-secret-another-secret-another",
    );
    assert!(keys.verify(&foreign).is_err());
    assert_eq!(keys.verify(&good).unwrap(), account(), "still recognised");
}
