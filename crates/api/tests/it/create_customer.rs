//! `POST /customer`: the body, its validation and the mapping of every use-case outcome
//! to a status.

use actix_web::http::{header, StatusCode};
use domain::CustomerType;
use ports::{CreateCustomerError, MockCreateCustomer};
use serde_json::json;

use crate::support::{
    account, assert_error_shape, customer_from, failing_use_case, post_customer, post_json,
    seed_body, send, succeeding_use_case, unreachable_use_case,
};

#[actix_web::test]
async fn create_returns_201_with_every_seed_field() {
    let reply = post_json(succeeding_use_case(), seed_body()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["status_code"], 201);
    assert_eq!(reply.body["message"], "Customer created successfully");
    let data = &reply.body["data"];
    assert_eq!(
        data,
        &json!({
            "id": "21fe7601-3be3-4d15-94c0-a94b15d8b872",
            "full_name": "Emmanuel A Towoju",
            "email": "tbash7676@gmail.com",
            "phone": "+2349039395114",
            "country": "USA",
            "type": "individual",
            "kyc_link": "https://bridge.withpersona.com/verify?a=1&b=2",
            "tos_link": "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b",
            "kyc_status": "approved",
            "rejection_reasons": [],
            "tos_status": "pending",
            "created_at": "2024-12-01T18:46:15.392Z",
            "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf",
            "persona_inquiry_type": "gov_id_db",
            "kyc_mail_status": "queued",
            "updated_at": null
        })
    );
}

#[actix_web::test]
async fn create_passes_the_token_account_and_applies_defaults() {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .withf(|acct, input| {
            *acct == account()
                && input.customer_type == CustomerType::Individual
                && input.send_kyc_mail
                && input.phone.as_str() == "+14155552671"
                && input.country.alpha3() == "NGA"
                && input.name.as_str() == "Ada Lovelace"
        })
        .returning(|_, input| Ok(customer_from(input)));
    let reply = post_json(
        mock,
        json!({
            "customer_name": "  Ada Lovelace ",
            "customer_email": "ada@example.com",
            "customer_phone": "+1 (415) 555-2671",
            "customer_country": "ng"
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[actix_web::test]
async fn create_passes_send_kyc_mail_false_through() {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .withf(|_, input| !input.send_kyc_mail)
        .returning(|_, input| Ok(customer_from(input)));
    let mut body = seed_body();
    body["send_kyc_mail"] = json!(false);
    let reply = post_json(mock, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["data"]["kyc_mail_status"], "not_requested");
}

#[actix_web::test]
async fn create_returns_400_naming_every_bad_field() {
    let reply = post_json(
        unreachable_use_case(),
        json!({
            "customer_name": "",
            "customer_email": "not-an-email",
            "customer_phone": "12345",
            "customer_country": "XYZ",
            "customer_type": "person",
            "send_kyc_mail": "yes"
        }),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.body["error"], "Invalid request");
    let details = reply.body["details"].as_object().unwrap();
    for field in [
        "customer_name",
        "customer_email",
        "customer_phone",
        "customer_country",
        "customer_type",
        "send_kyc_mail",
    ] {
        assert!(
            details[field].is_string(),
            "{field} missing from {details:?}"
        );
    }
}

#[actix_web::test]
async fn create_returns_400_for_an_unknown_field_such_as_a_typo() {
    let mut body = seed_body();
    body["custome_email"] = json!("tbash7676@gmail.com");
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"]["custome_email"].is_string(),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["details"]["custome_email"],
        "is not a known field (expected one of: customer_name, customer_email, \
         customer_phone, customer_country, customer_type, send_kyc_mail)"
    );
}

#[actix_web::test]
async fn create_returns_400_for_missing_null_and_wrongly_typed_fields() {
    let reply = post_json(
        unreachable_use_case(),
        json!({
            "customer_name": null,
            "customer_email": 42,
            "customer_country": ["USA"]
        }),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let details = &reply.body["details"];
    assert_eq!(details["customer_name"], "must not be null");
    assert_eq!(details["customer_email"], "must be a string");
    assert_eq!(details["customer_phone"], "is required");
    assert_eq!(details["customer_country"], "must be a string");
}

#[actix_web::test]
async fn create_returns_400_for_a_body_that_is_not_an_object() {
    let reply = post_json(unreachable_use_case(), json!(["customer"])).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn create_returns_400_for_malformed_json() {
    let request = post_customer()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(r#"{"customer_name": "x",,}"#);
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_json");
}

#[actix_web::test]
async fn create_returns_400_for_an_empty_body() {
    let request = post_customer().insert_header((header::CONTENT_TYPE, "application/json"));
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(reply.body["details"]["body"], "request body is empty");
}

#[actix_web::test]
async fn create_returns_415_for_a_non_json_content_type() {
    let request = post_customer()
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload(seed_body().to_string());
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[actix_web::test]
async fn create_returns_413_for_a_body_over_64_kib() {
    let mut body = seed_body();
    body["customer_name"] = json!("a".repeat(70 * 1024));
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[actix_web::test]
async fn create_returns_409_when_email_already_exists() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::Duplicate),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "customer_exists");
}

#[actix_web::test]
async fn create_returns_422_with_the_providers_message_when_it_rejects() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::KycRejected {
            message: "email domain not allowed".into(),
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::UNPROCESSABLE_ENTITY, "kyc_rejected");
    assert_eq!(
        reply.body["details"]["provider_message"],
        "email domain not allowed"
    );
}

#[actix_web::test]
async fn create_returns_502_when_the_provider_is_unavailable() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::KycUnavailable(anyhow::anyhow!("connection refused to 10.1.2.3"))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_GATEWAY, "kyc_provider_unavailable");
    assert!(!reply.body.to_string().contains("10.1.2.3"));
}

#[actix_web::test]
async fn create_returns_504_when_the_provider_times_out() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::KycTimeout),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::GATEWAY_TIMEOUT, "kyc_provider_timeout");
}

#[actix_web::test]
async fn create_returns_503_with_retry_after_when_the_store_is_unavailable() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::StoreUnavailable(anyhow::anyhow!("pool timed out"))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    assert_eq!(reply.headers.get(header::RETRY_AFTER).unwrap(), "1");
}

#[actix_web::test]
async fn create_returns_500_without_revealing_the_cause() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::Unexpected(anyhow::anyhow!(
                "password authentication failed for user app"
            ))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert_eq!(reply.body["error"], "Internal server error");
    assert!(!reply.body.to_string().contains("password"));
}
