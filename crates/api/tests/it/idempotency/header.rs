//! The `Idempotency-Key` header on `POST /customer`: checked before anything else touches
//! the key, required when keys are, and ignored by routes that create nothing.

use actix_web::http::StatusCode;
use ports::{Begun, MockCreateCustomer, MockIdempotencyStore, MockReadCustomers};
use serde_json::json;
use uuid::Uuid;

use super::{keyed, store_beginning, with};
use crate::support::{assert_error_shape, call, post_customer, seed_body, Ports};

#[actix_web::test]
async fn an_invalid_body_is_refused_before_the_key_is_touched() {
    let reply = call(
        with(MockIdempotencyStore::new(), MockCreateCustomer::new()),
        post_customer()
            .insert_header(("Idempotency-Key", "key-1"))
            .set_json(json!({"customer_name": ""})),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn a_malformed_key_is_400_naming_the_header() {
    for key in ["", "\"unterminated", &"k".repeat(256)] {
        let reply = call(
            with(MockIdempotencyStore::new(), MockCreateCustomer::new()),
            keyed(key),
        )
        .await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            reply.body["details"]["Idempotency-Key"].is_string(),
            "{}",
            reply.body
        );
    }
}

#[actix_web::test]
async fn a_missing_key_is_400_when_keys_are_required_and_a_present_one_is_used() {
    let ports = Ports {
        key_required: true,
        ..with(MockIdempotencyStore::new(), MockCreateCustomer::new())
    };
    let reply = call(ports, post_customer().set_json(seed_body())).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "idempotency_key_required");

    let ports = Ports {
        key_required: true,
        ..with(
            store_beginning(Begun::InProgress),
            MockCreateCustomer::new(),
        )
    };
    let reply = call(ports, keyed("key-1")).await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "idempotency_key_in_use");
}

#[actix_web::test]
async fn routes_that_create_nothing_ignore_the_header_even_when_keys_are_required() {
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .times(1)
        .returning(|_, _| Ok(None));
    let ports = Ports {
        key_required: true,
        read,
        ..Ports::new()
    };
    let reply = call(
        ports,
        crate::support::get(&format!("/customer/{}", Uuid::new_v4()))
            .insert_header(("Idempotency-Key", "")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}
