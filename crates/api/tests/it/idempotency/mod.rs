//! `POST /customer` with an `Idempotency-Key`: every branch of the glue between the header,
//! the key store and the create use case, with mocks of each; the other creating `POST`s
//! in `kyc` and `endpoints`.

use std::sync::mpsc;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use api::customers::create::created;
use api::idempotency::fingerprint;
use chrono::Utc;
use domain::{Customer, CustomerId};
use ports::{
    Begun, CreateCustomerError, MockCreateCustomer, MockIdempotencyStore, MockReadCustomers,
    ReadCustomersError, RepositoryError, StoredResponse,
};
use uuid::Uuid;

mod endpoints;
mod header;
mod kyc;

use crate::support::{
    account, assert_error_shape, call, customer_from, post_customer, seed_body, Ports, Reply,
};

const RESERVED: Uuid = Uuid::from_u128(0x0b5e_0000_0000_4000_8000_0000_0000_0001);

fn keyed(key: &str) -> TestRequest {
    post_customer()
        .insert_header(("Idempotency-Key", key))
        .set_json(seed_body())
}

/// The customer the mocked use case creates under the reserved id.
fn reserved_customer(input: domain::NewCustomer) -> Customer {
    Customer {
        id: CustomerId(RESERVED),
        ..customer_from(input)
    }
}

/// A key store whose one `begin` answers `begun` (also for `kyc` and `endpoints`).
fn store_beginning(begun: Begun) -> MockIdempotencyStore {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .times(1)
        .returning(move |_| Ok(begun.clone()));
    store
}

/// A key store whose one `begin` finds the key new and reserves `reserved_id`.
fn fresh_reserving(reserved_id: Uuid) -> MockIdempotencyStore {
    store_beginning(Begun::Fresh { reserved_id })
}

fn fresh() -> MockIdempotencyStore {
    fresh_reserving(RESERVED)
}

fn with(store: MockIdempotencyStore, create: MockCreateCustomer) -> Ports {
    Ports {
        idempotency: store,
        create,
        ..Ports::new()
    }
}

fn create_failing(error: fn() -> CreateCustomerError) -> MockCreateCustomer {
    let mut create = MockCreateCustomer::new();
    create
        .expect_create_customer_reserved()
        .times(1)
        .returning(move |_, _, _| Err(error()));
    create
}

fn assert_not_replayed(reply: &Reply) {
    assert!(
        reply.headers.get("idempotent-replayed").is_none(),
        "{:?}",
        reply.headers
    );
}

#[actix_web::test]
async fn a_request_without_a_key_never_touches_the_key_store() {
    let mut create = MockCreateCustomer::new();
    create
        .expect_create_customer()
        .times(1)
        .returning(|_, input| Ok(customer_from(input)));
    // The store mock expects nothing: any call fails the test.
    let reply = call(
        with(MockIdempotencyStore::new(), create),
        post_customer().set_json(seed_body()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_not_replayed(&reply);
}

#[actix_web::test]
async fn a_new_key_creates_the_customer_under_the_reserved_id_and_stores_exactly_the_answer() {
    let (claims, claim) = mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store.expect_begin().times(1).returning(move |c| {
        claims.send(c.clone()).unwrap();
        Ok(Begun::Fresh {
            reserved_id: RESERVED,
        })
    });
    let (stored_tx, stored) = mpsc::channel();
    let mut create = MockCreateCustomer::new();
    create
        .expect_create_customer_reserved()
        .times(1)
        .withf(|acct, _, reservation| *acct == account() && reservation.reserved_id() == RESERVED)
        .returning(move |_, input, reservation| {
            let customer = reserved_customer(input);
            let completion = reservation.completion(&customer, Some(customer.id), Utc::now());
            stored_tx.send(completion).unwrap();
            Ok(customer)
        });

    let reply = call(with(store, create), keyed("key-1")).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["data"]["id"], RESERVED.to_string());
    assert_not_replayed(&reply);
    let claim = claim.recv().unwrap();
    assert_eq!(claim.scope.account, account());
    assert_eq!(
        (claim.scope.method.as_str(), claim.scope.path.as_str()),
        ("POST", "/customer")
    );
    assert_eq!(claim.scope.key.as_str(), "key-1");
    assert_eq!(claim.fingerprint, fingerprint(&seed_body()));
    // What the use case stores with the key is the answer, byte for byte.
    let completion = stored.recv().unwrap();
    assert_eq!(completion.response.body, reply.bytes);
    assert_eq!(completion.response.status, 201);
    assert_eq!(
        completion.response.content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(completion.customer_id, Some(CustomerId(RESERVED)));
}

#[actix_web::test]
async fn the_quoted_form_of_a_key_and_another_layout_of_the_body_are_the_same_request() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .times(1)
        .withf(|c| c.scope.key.as_str() == "abc" && c.fingerprint == fingerprint(&seed_body()))
        .returning(|_| Ok(Begun::InProgress));
    let mut body = seed_body().to_string().replace(':', " : ");
    body.insert(0, '\n');
    let reply = call(
        with(store, MockCreateCustomer::new()),
        post_customer()
            .insert_header(("Idempotency-Key", "\"abc\""))
            .insert_header(("content-type", "application/json"))
            .set_payload(body),
    )
    .await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "idempotency_key_in_use");
}

#[actix_web::test]
async fn a_replay_answers_the_stored_status_headers_and_bytes_and_runs_nothing() {
    let stored = StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/customer/0b5e".into()),
        body: br#"{"status":"success",  "stored":true}"#.to_vec(),
    };
    let reply = call(
        with(
            store_beginning(Begun::Replay(stored.clone())),
            MockCreateCustomer::new(),
        ),
        keyed("key-1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.bytes, stored.body);
    assert_eq!(reply.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(reply.headers.get("location").unwrap(), "/customer/0b5e");
}

#[actix_web::test]
async fn other_content_under_the_key_is_422_idempotency_key_reused() {
    let reply = call(
        with(store_beginning(Begun::Mismatch), MockCreateCustomer::new()),
        keyed("key-1"),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
}

#[actix_web::test]
async fn a_key_still_in_progress_is_409_idempotency_key_in_use_with_retry_after() {
    let reply = call(
        with(
            store_beginning(Begun::InProgress),
            MockCreateCustomer::new(),
        ),
        keyed("key-1"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "idempotency_key_in_use");
    assert_eq!(reply.headers.get("retry-after").unwrap(), "1");
}

#[actix_web::test]
async fn a_key_whose_customer_was_erased_since_is_410_customer_deleted_and_nothing_runs() {
    let reply = call(
        with(store_beginning(Begun::Gone), MockCreateCustomer::new()),
        keyed("key-1"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::GONE, "customer_deleted");
    assert_not_replayed(&reply);
}

#[actix_web::test]
async fn the_failures_about_the_customer_are_stored_with_the_key() {
    for (error, status, code) in [
        (
            (|| CreateCustomerError::Duplicate) as fn() -> CreateCustomerError,
            StatusCode::CONFLICT,
            "customer_exists",
        ),
        (
            || CreateCustomerError::KycRejected {
                message: "bad name".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
        ),
    ] {
        let (tx, rx) = mpsc::channel();
        let mut store = fresh();
        store.expect_complete().times(1).returning(move |c| {
            tx.send(c.clone()).unwrap();
            Ok(true)
        });
        let reply = call(with(store, create_failing(error)), keyed("key-1")).await;
        assert_error_shape(&reply, status, code);
        let completion = rx.recv().unwrap();
        assert_eq!(completion.key.reserved_id, RESERVED);
        assert_eq!(completion.response.status, status.as_u16());
        assert_eq!(completion.response.body, reply.bytes, "{code}");
        assert_eq!(completion.customer_id, None);
    }
}

#[actix_web::test]
async fn every_other_failure_releases_the_key_for_a_retry() {
    for (error, status) in [
        (
            (|| CreateCustomerError::KycUnavailable(anyhow::anyhow!("down")))
                as fn() -> CreateCustomerError,
            StatusCode::BAD_GATEWAY,
        ),
        (
            || CreateCustomerError::KycTimeout,
            StatusCode::GATEWAY_TIMEOUT,
        ),
        // Its reserved id is an erased customer's: a retry is refused the same way.
        (|| CreateCustomerError::Erased, StatusCode::GONE),
        (
            || CreateCustomerError::StoreUnavailable(anyhow::anyhow!("pool")),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            || CreateCustomerError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ] {
        let mut store = fresh();
        store
            .expect_release()
            .times(1)
            .withf(|key| key.reserved_id == RESERVED)
            .returning(|_| Ok(true));
        let reply = call(with(store, create_failing(error)), keyed("key-1")).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
}

#[actix_web::test]
async fn the_answer_goes_out_even_when_the_key_cannot_be_written() {
    let mut store = fresh();
    store
        .expect_complete()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
    let reply = call(
        with(store, create_failing(|| CreateCustomerError::Duplicate)),
        keyed("key-1"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "customer_exists");

    let mut store = fresh();
    store.expect_release().times(1).returning(|_| Ok(false));
    let reply = call(
        with(store, create_failing(|| CreateCustomerError::KycTimeout)),
        keyed("key-1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
}

fn resumed() -> MockIdempotencyStore {
    store_beginning(Begun::Resume {
        reserved_id: RESERVED,
    })
}

fn read_finding(answer: fn() -> Result<Option<Customer>, ReadCustomersError>) -> MockReadCustomers {
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .times(1)
        .withf(|acct, id| *acct == account() && id.0 == RESERVED)
        .returning(move |_, _| answer());
    read
}

fn existing() -> Customer {
    let input = crate::support::seed_body();
    let input = api::customers::CreateCustomerBody::from_json(input)
        .unwrap()
        .try_into_domain()
        .unwrap();
    reserved_customer(input)
}

#[actix_web::test]
async fn a_taken_over_key_whose_customer_exists_is_answered_from_it_not_with_409() {
    let (tx, rx) = mpsc::channel();
    let mut store = resumed();
    store.expect_complete().times(1).returning(move |c| {
        tx.send(c.clone()).unwrap();
        Ok(true)
    });
    let ports = Ports {
        idempotency: store,
        create: MockCreateCustomer::new(),
        read: read_finding(|| Ok(Some(existing()))),
        ..Ports::new()
    };
    let reply = call(ports, keyed("key-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(reply.bytes, created(&existing()).body);
    let completion = rx.recv().unwrap();
    assert_eq!(completion.response, created(&existing()));
    assert_eq!(completion.customer_id, Some(CustomerId(RESERVED)));
}

#[actix_web::test]
async fn a_taken_over_key_without_its_customer_runs_again_under_the_same_id() {
    let mut create = MockCreateCustomer::new();
    create
        .expect_create_customer_reserved()
        .times(1)
        .withf(|_, _, reservation| reservation.reserved_id() == RESERVED)
        .returning(|_, input, _| Ok(reserved_customer(input)));
    let ports = Ports {
        idempotency: resumed(),
        create,
        read: read_finding(|| Ok(None)),
        ..Ports::new()
    };
    let reply = call(ports, keyed("key-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_not_replayed(&reply);
}

#[actix_web::test]
async fn a_taken_over_key_whose_lookup_fails_is_released() {
    let mut store = resumed();
    store.expect_release().times(1).returning(|_| Ok(true));
    let ports = Ports {
        idempotency: store,
        create: MockCreateCustomer::new(),
        read: read_finding(|| {
            Err(ReadCustomersError::StoreUnavailable(anyhow::anyhow!(
                "down"
            )))
        }),
        ..Ports::new()
    };
    let reply = call(ports, keyed("key-1")).await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}

#[actix_web::test]
async fn an_unreachable_key_store_is_503_and_nothing_runs() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable(anyhow::anyhow!("down"))));
    let reply = call(with(store, MockCreateCustomer::new()), keyed("key-1")).await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}
