//! `GET /customer/{id}` and `GET /customers`.

use actix_web::http::StatusCode;
use actix_web::test;
use domain::{Customer, CustomerId};
use ports::{CustomerPage, MockReadCustomers, ReadCustomersError};
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    account, assert_error_shape, assert_unauthorized, call, customer_from, get, seed_body, Ports,
};

fn stored_customer() -> Customer {
    customer_from(
        api::customers::CreateCustomerBody::from_json(seed_body())
            .unwrap()
            .try_into_domain()
            .unwrap(),
    )
}

#[actix_web::test]
async fn get_customer_returns_the_create_shape() {
    let customer = stored_customer();
    let id = customer.id;
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .withf(move |acc, wanted| *acc == account() && *wanted == id)
        .times(1)
        .returning(move |_, _| Ok(Some(stored_customer())));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get(&format!("/customer/{}", id.0))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status_code"], 200);
    assert_eq!(reply.body["data"]["id"], id.0.to_string());
    assert_eq!(reply.body["data"]["email"], "tbash7676@gmail.com");
    assert_eq!(reply.body["data"]["kyc_link"], customer.kyc.kyc_link);
    assert_eq!(reply.body["data"]["created_at"], "2024-12-01T18:46:15.392Z");
}

#[actix_web::test]
async fn get_customer_is_404_for_unknown_or_other_accounts_and_malformed_ids() {
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .times(1)
        .returning(|_, _| Ok(None));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get(&format!("/customer/{}", Uuid::new_v4()))).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    // A malformed id never reaches the use case (its mock refuses every call).
    let reply = call(Ports::new(), get("/customer/not-a-uuid")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn get_customer_requires_a_token() {
    let reply = call(
        Ports::new(),
        test::TestRequest::get().uri(&format!("/customer/{}", Uuid::new_v4())),
    )
    .await;
    assert_unauthorized(&reply);
}

#[actix_web::test]
async fn list_customers_applies_defaults_and_returns_has_more() {
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .withf(|acc, query| {
            *acc == account()
                && query.limit == 20
                && query.starting_after.is_none()
                && query.filter == ports::CustomerFilter::default()
        })
        .times(1)
        .returning(|_, _| {
            Ok(CustomerPage {
                customers: vec![stored_customer()],
                has_more: true,
            })
        });
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get("/customers")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["has_more"], true);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["data"][0]["full_name"], "Emmanuel A Towoju");
}

#[actix_web::test]
async fn list_customers_passes_the_cursor_and_filters() {
    let after = Uuid::new_v4();
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .withf(move |_, query| {
            query.limit == 5
                && query.starting_after == Some(CustomerId(after))
                && query.filter.email.as_deref() == Some("A@Example.com")
                && query.filter.kyc_status == Some(domain::KycStatus::Approved)
        })
        .times(1)
        .returning(|_, _| {
            Ok(CustomerPage {
                customers: vec![],
                has_more: false,
            })
        });
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let uri = format!(
        "/customers?limit=5&starting_after={after}&email=A%40Example.com&kyc_status=approved"
    );
    let reply = call(ports, get(&uri)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"], json!([]));
    assert_eq!(reply.body["has_more"], false);
}

#[actix_web::test]
async fn list_customers_names_every_bad_parameter() {
    for (query, fields) in [
        ("limit=0", vec!["limit"]),
        ("limit=101", vec!["limit"]),
        (
            "limit=ten&starting_after=nope",
            vec!["limit", "starting_after"],
        ),
        ("email=", vec!["email"]),
        (
            "email=a%00b%40example.com&kyc_status=%00",
            vec!["email", "kyc_status"],
        ),
    ] {
        let reply = call(Ports::new(), get(&format!("/customers?{query}"))).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        for field in fields {
            assert!(
                reply.body["details"].get(field).is_some(),
                "{query}: {}",
                reply.body
            );
        }
    }
    let reply = call(Ports::new(), get("/customers?colour=red")).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn list_customers_rejects_a_cursor_of_another_account() {
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .times(1)
        .returning(|_, _| Err(ReadCustomersError::UnknownCursor));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(
        ports,
        get(&format!("/customers?starting_after={}", Uuid::new_v4())),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(reply.body["details"]["starting_after"].is_string());
}
