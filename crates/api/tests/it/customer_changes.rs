//! `PUT /customer/{id}`, `DELETE /customer/{id}` and the `ETag` of `GET /customer/{id}`,
//! over the real routes and extractors with mocked use cases.

use actix_web::http::{header, Method, StatusCode};
use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use domain::{Customer, CustomerId, CustomerUpdate};
use ports::{
    DeleteCustomerError, MockDeleteCustomer, MockReadCustomers, MockUpdateCustomer, Precondition,
    UpdateCustomerError,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{
    account, assert_error_shape, assert_unauthorized, authorized, call, customer_from, get,
    seed_body, Ports,
};

/// A use-case error, and the status and code it is answered with.
type Case<E> = (fn() -> E, StatusCode, &'static str);

const ID: Uuid = Uuid::from_u128(0x21fe_7601_3be3_4d15_94c0_a94b_15d8_b872);

fn stored() -> Customer {
    customer_from(
        api::customers::CreateCustomerBody::from_json(seed_body())
            .unwrap()
            .try_into_domain()
            .unwrap(),
    )
}

fn put(body: Value) -> TestRequest {
    authorized(Method::PUT, &format!("/customer/{ID}")).set_json(body)
}

fn delete() -> TestRequest {
    authorized(Method::DELETE, &format!("/customer/{ID}"))
}

/// An update use case that applies the update to the stored customer at version 4.
fn updating(
    check: impl Fn(&CustomerUpdate, &Precondition) -> bool + Send + 'static,
) -> MockUpdateCustomer {
    let mut update = MockUpdateCustomer::new();
    update
        .expect_update_customer()
        .times(1)
        .withf(move |acc, id, u, p| *acc == account() && *id == CustomerId(ID) && check(u, p))
        .returning(|_, _, u, _| {
            let mut customer = stored();
            if let Some(email) = u.email {
                customer.email = email;
            }
            if let Some(name) = u.name {
                customer.name = name;
            }
            customer.version = 4;
            customer.updated_at = Some(Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap());
            Ok(customer)
        });
    update
}

fn with_update(update: MockUpdateCustomer) -> Ports {
    Ports {
        update,
        ..Ports::new()
    }
}

fn failing_update(error: fn() -> UpdateCustomerError) -> Ports {
    let mut update = MockUpdateCustomer::new();
    update
        .expect_update_customer()
        .times(1)
        .returning(move |_, _, _, _| Err(error()));
    with_update(update)
}

#[actix_web::test]
async fn a_put_answers_the_changed_customer_with_its_etag() {
    let update = updating(|u, p| {
        u.email.as_ref().map(|e| e.as_str()) == Some("new.address@example.com")
            && u.name.is_none()
            && u.phone.is_none()
            && u.country.is_none()
            && *p == Precondition::Any
    });
    let reply = call(
        with_update(update),
        put(json!({"customer_email": " new.address@example.com "})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["status_code"], 200);
    assert_eq!(reply.body["message"], "Customer updated successfully");
    assert_eq!(reply.body["data"]["id"], ID.to_string());
    assert_eq!(reply.body["data"]["email"], "new.address@example.com");
    assert_eq!(reply.body["data"]["updated_at"], "2026-02-03T04:05:06.000Z");
    assert_eq!(reply.headers.get(header::ETAG).unwrap(), "\"4\"");
}

#[actix_web::test]
async fn if_match_reaches_the_use_case_as_the_versions_it_names() {
    for (if_match, expected) in [
        ("\"3\"", Precondition::OneOf(vec![3])),
        ("\"3\", W/\"4\", \"5\"", Precondition::OneOf(vec![3, 5])),
        ("*", Precondition::Any),
    ] {
        let update = updating(move |_, p| *p == expected);
        let reply = call(
            with_update(update),
            put(json!({"customer_name": "Ada Lovelace"}))
                .insert_header((header::IF_MATCH, if_match)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{if_match}: {}", reply.body);
    }
}

#[actix_web::test]
async fn a_malformed_if_match_is_400_and_nothing_runs() {
    let reply = call(
        Ports::new(),
        put(json!({"customer_name": "Ada Lovelace"})).insert_header((header::IF_MATCH, "3")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"]["If-Match"].is_string(),
        "{}",
        reply.body
    );
}

#[actix_web::test]
async fn a_body_naming_no_field_is_400() {
    for body in [json!({}), json!({"customer_name": null})] {
        let reply = call(Ports::new(), put(body.clone())).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let details = reply.body["details"].as_object().unwrap();
        assert_eq!(details.len(), 1, "{body}: {}", reply.body);
    }
    let reply = call(Ports::new(), put(json!({}))).await;
    assert_eq!(
        reply.body["details"]["body"],
        "must name at least one of: customer_name, customer_email, customer_phone, customer_country"
    );
    let reply = call(Ports::new(), put(json!({"customer_name": null}))).await;
    assert_eq!(
        reply.body["details"]["customer_name"],
        "must not be null (leave the field out to keep its value)"
    );
}

#[actix_web::test]
async fn every_bad_field_is_named_at_once_with_the_create_rules() {
    let reply = call(
        Ports::new(),
        put(json!({
            "customer_name": "  ",
            "customer_email": "x@127.0.0.1",
            "customer_phone": "0903 939 5114",
            "customer_country": "XX",
            "customer_type": "business",
            "send_kyc_mail": false,
        })),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let details = reply.body["details"].as_object().unwrap();
    let mut named: Vec<&str> = details.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "customer_country",
            "customer_email",
            "customer_name",
            "customer_phone",
            "customer_type",
            "send_kyc_mail",
        ],
        "{}",
        reply.body
    );
    assert_eq!(
        details["customer_phone"],
        "must be a phone number in international format, e.g. +14155552671"
    );
}

#[actix_web::test]
async fn a_national_phone_is_read_in_the_country_sent_with_it() {
    let update = updating(|u, _| {
        u.phone.as_ref().map(|p| p.as_str()) == Some("+2349039395114")
            && u.country.map(|c| c.alpha3()) == Some("NGA")
    });
    let reply = call(
        with_update(update),
        put(json!({"customer_phone": "0903 939 5114", "customer_country": "NG"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[actix_web::test]
async fn a_put_without_a_token_a_json_body_or_a_well_formed_id_never_runs() {
    let reply = call(
        Ports::new(),
        TestRequest::put()
            .uri(&format!("/customer/{ID}"))
            .set_json(json!({"customer_name": "Ada"})),
    )
    .await;
    assert_unauthorized(&reply);
    let reply = call(
        Ports::new(),
        authorized(Method::PUT, &format!("/customer/{ID}"))
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .set_payload("customer_name=Ada"),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let reply = call(
        Ports::new(),
        authorized(Method::PUT, "/customer/not-a-uuid").set_json(json!({"customer_name": "Ada"})),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn each_update_failure_has_its_status_and_code() {
    let cases: [Case<UpdateCustomerError>; 10] = [
        (
            || UpdateCustomerError::NotFound,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            || UpdateCustomerError::PreconditionFailed,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        ),
        (
            || UpdateCustomerError::Duplicate,
            StatusCode::CONFLICT,
            "customer_exists",
        ),
        (
            || UpdateCustomerError::EmailLocked,
            StatusCode::CONFLICT,
            "email_locked",
        ),
        (
            || UpdateCustomerError::KycRejected {
                message: "bad".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
        ),
        (
            || UpdateCustomerError::KycTimeout,
            StatusCode::GATEWAY_TIMEOUT,
            "kyc_provider_timeout",
        ),
        (
            || UpdateCustomerError::KycUnavailable(anyhow::anyhow!("down")),
            StatusCode::BAD_GATEWAY,
            "kyc_provider_unavailable",
        ),
        (
            || UpdateCustomerError::Contended,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
        (
            || UpdateCustomerError::StoreUnavailable(anyhow::anyhow!("pool")),
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
        (
            || UpdateCustomerError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ];
    for (error, status, code) in cases {
        let reply = call(failing_update(error), put(json!({"customer_name": "Ada"}))).await;
        assert_error_shape(&reply, status, code);
        assert!(reply.headers.get(header::ETAG).is_none());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(reply.headers.get(header::RETRY_AFTER).unwrap(), "1");
        }
    }
}

#[actix_web::test]
async fn a_delete_answers_the_yativo_acknowledgement() {
    let mut erase = MockDeleteCustomer::new();
    erase
        .expect_delete_customer()
        .times(1)
        .withf(|acc, id, p| *acc == account() && *id == CustomerId(ID) && *p == Precondition::Any)
        .returning(|_, _, _| Ok(()));
    let reply = call(
        Ports {
            delete: erase,
            ..Ports::new()
        },
        delete(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"status": "success", "status_code": 200, "message": "Customer successfully deleted"})
    );
}

#[actix_web::test]
async fn a_delete_passes_if_match_on_and_maps_each_failure() {
    let cases: [Case<DeleteCustomerError>; 4] = [
        (
            || DeleteCustomerError::NotFound,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            || DeleteCustomerError::PreconditionFailed,
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
        ),
        (
            || DeleteCustomerError::StoreUnavailable(anyhow::anyhow!("pool")),
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
        (
            || DeleteCustomerError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ];
    for (error, status, code) in cases {
        let mut erase = MockDeleteCustomer::new();
        erase
            .expect_delete_customer()
            .times(1)
            .withf(|_, _, p| *p == Precondition::OneOf(vec![2]))
            .returning(move |_, _, _| Err(error()));
        let reply = call(
            Ports {
                delete: erase,
                ..Ports::new()
            },
            delete().insert_header((header::IF_MATCH, "\"2\"")),
        )
        .await;
        assert_error_shape(&reply, status, code);
    }
}

#[actix_web::test]
async fn a_delete_without_a_token_or_with_a_malformed_id_or_if_match_never_runs() {
    let reply = call(
        Ports::new(),
        TestRequest::delete().uri(&format!("/customer/{ID}")),
    )
    .await;
    assert_unauthorized(&reply);
    let reply = call(Ports::new(), authorized(Method::DELETE, "/customer/nope")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    let reply = call(
        Ports::new(),
        delete().insert_header((header::IF_MATCH, "W/")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn a_get_carries_the_customers_version_as_a_strong_etag() {
    let mut read = MockReadCustomers::new();
    read.expect_get_customer().times(1).returning(|_, _| {
        let mut customer = stored();
        customer.version = 7;
        Ok(Some(customer))
    });
    let reply = call(
        Ports {
            read,
            ..Ports::new()
        },
        get(&format!("/customer/{ID}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers.get(header::ETAG).unwrap(), "\"7\"");
}

#[actix_web::test]
async fn other_methods_on_a_customer_are_405_naming_get_put_and_delete() {
    let reply = call(
        Ports::new(),
        authorized(Method::PATCH, &format!("/customer/{ID}")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(
        reply.headers.get(header::ALLOW).unwrap(),
        "GET, PUT, DELETE"
    );
}
