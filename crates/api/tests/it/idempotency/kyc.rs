//! `POST /customer/{id}/kyc` with an `Idempotency-Key`, with the key store and the use case
//! mocked: the reserved submission, what is stored (naming the customer) and what releases
//! the key, replays, takeovers, and keys required.

use std::sync::mpsc;
use std::time::Duration;

use actix_web::http::StatusCode;
use api::idempotency::fingerprint;
use api::kyc::handlers::submitted;
use api::kyc::KycUploadLimits;
use chrono::Utc;
use domain::{Customer, CustomerId, KycStatus, SubmissionId};
use ports::{Begun, MockIdempotencyStore, MockSubmitKyc, SubmitKycError};
use uuid::Uuid;

use crate::kyc_cases::individual;
use crate::kyc_submit::{post_kyc, CUSTOMER};
use crate::support::{account, assert_error_shape, call, customer_from, seed_body_input, Ports};

use super::{fresh_reserving, store_beginning};

const RESERVED: Uuid = Uuid::from_u128(0x5ab_0000_0000_4000_8000_0000_0000_0001);

fn customer_id() -> CustomerId {
    CustomerId(CUSTOMER.parse().unwrap())
}

/// The customer after the provider took the submission.
fn reviewed() -> Customer {
    let mut customer = customer_from(seed_body_input());
    customer.kyc_state.kyc_status = KycStatus::UnderReview;
    customer.version = 2;
    customer
}

fn keyed() -> actix_web::test::TestRequest {
    post_kyc(&individual()).insert_header(("Idempotency-Key", "kyc-1"))
}

fn fresh() -> MockIdempotencyStore {
    fresh_reserving(RESERVED)
}

fn ports(store: MockIdempotencyStore, submit: MockSubmitKyc) -> Ports {
    Ports {
        idempotency: store,
        submit,
        ..Ports::new()
    }
}

fn failing(error: fn() -> SubmitKycError) -> MockSubmitKyc {
    let mut submit = MockSubmitKyc::new();
    submit
        .expect_submit_kyc_reserved()
        .times(1)
        .returning(move |_, _, _, _| Err(error()));
    submit
}

#[actix_web::test]
async fn a_new_key_submits_under_the_reserved_id_and_the_use_case_stores_exactly_the_answer() {
    let (claims, claim) = mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store.expect_begin().times(1).returning(move |c| {
        claims.send(c.clone()).unwrap();
        Ok(Begun::Fresh {
            reserved_id: RESERVED,
        })
    });
    let (stored_tx, stored) = mpsc::channel();
    let mut submit = MockSubmitKyc::new();
    submit
        .expect_submit_kyc_reserved()
        .times(1)
        .withf(|acct, id, _, reservation| {
            (*acct, *id) == (account(), customer_id()) && reservation.reserved_id() == RESERVED
        })
        .returning(move |_, id, _, reservation| {
            let customer = reviewed();
            stored_tx
                .send(reservation.completion(&customer, Some(id), Utc::now()))
                .unwrap();
            Ok(customer)
        });

    let reply = call(ports(store, submit), keyed()).await;

    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["data"]["kyc_status"], "under_review");
    assert!(reply.headers.get("idempotent-replayed").is_none());
    let claim = claim.recv().unwrap();
    assert_eq!(claim.scope.path, format!("/customer/{CUSTOMER}/kyc"));
    assert_eq!(claim.scope.key.as_str(), "kyc-1");
    // The body as sent, fingerprinted before it was parsed into the submission.
    assert_eq!(claim.fingerprint, fingerprint(&individual()));
    let completion = stored.recv().unwrap();
    assert_eq!(completion.response.body, reply.bytes);
    assert_eq!(completion.response, submitted(&reviewed()));
    assert_eq!(completion.customer_id, Some(customer_id()));
}

#[actix_web::test]
async fn the_key_is_claimed_under_the_routes_permit_taken_before_the_body_was_read() {
    let limits = KycUploadLimits::new(1024 * 1024, 1, Duration::from_secs(5));
    let seen = limits.clone();
    let (permits_tx, permits) = mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store.expect_begin().times(1).returning(move |_| {
        permits_tx.send(seen.available()).unwrap();
        Ok(Begun::Mismatch)
    });
    let reply = call(
        Ports {
            upload_limits: limits.clone(),
            ..ports(store, MockSubmitKyc::new())
        },
        keyed(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(permits.recv().unwrap(), 0, "the only permit is held");
    assert_eq!(limits.available(), 1, "and given back after the answer");
}

#[actix_web::test]
async fn a_replay_answers_the_stored_bytes_and_submits_nothing() {
    let stored = submitted(&reviewed());
    let reply = call(
        ports(
            store_beginning(Begun::Replay(stored.clone())),
            MockSubmitKyc::new(),
        ),
        keyed(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.bytes, stored.body);
    assert_eq!(reply.headers.get("idempotent-replayed").unwrap(), "true");
}

#[actix_web::test]
async fn other_content_under_the_key_is_422_and_an_erased_customer_410() {
    let reply = call(
        ports(store_beginning(Begun::Mismatch), MockSubmitKyc::new()),
        keyed(),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let reply = call(
        ports(store_beginning(Begun::Gone), MockSubmitKyc::new()),
        keyed(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::GONE, "customer_deleted");
}

/// A use-case failure, and the status and code it is stored with.
type Stored = (fn() -> SubmitKycError, StatusCode, &'static str);

#[actix_web::test]
async fn kyc_in_progress_and_kyc_rejected_are_stored_naming_the_customer() {
    let cases: Vec<Stored> = vec![
        (
            || SubmitKycError::InProgress,
            StatusCode::CONFLICT,
            "kyc_in_progress",
        ),
        (
            || SubmitKycError::Rejected {
                field_errors: vec![("identifying_information".into(), "invalid".into())],
                message: "fields are invalid".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
        ),
    ];
    for (error, status, code) in cases {
        let (tx, rx) = mpsc::channel();
        let mut store = fresh();
        store.expect_complete().times(1).returning(move |c| {
            tx.send(c.clone()).unwrap();
            Ok(true)
        });
        let reply = call(ports(store, failing(error)), keyed()).await;
        assert_error_shape(&reply, status, code);
        let completion = rx.recv().unwrap();
        assert_eq!(completion.response.status, status.as_u16());
        assert_eq!(completion.response.body, reply.bytes, "{code}");
        // Erasing the customer erases this answer too.
        assert_eq!(completion.customer_id, Some(customer_id()), "{code}");
    }
}

#[actix_web::test]
async fn every_other_failure_releases_the_key_for_a_retry() {
    let cases: Vec<(fn() -> SubmitKycError, StatusCode)> = vec![
        (
            || SubmitKycError::KycUnavailable(anyhow::anyhow!("down")),
            StatusCode::BAD_GATEWAY,
        ),
        (|| SubmitKycError::KycTimeout, StatusCode::GATEWAY_TIMEOUT),
        (
            || SubmitKycError::StoreUnavailable(anyhow::anyhow!("pool")),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (|| SubmitKycError::TermsNotAccepted, StatusCode::BAD_REQUEST),
        (|| SubmitKycError::NotFound, StatusCode::NOT_FOUND),
        (
            || SubmitKycError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (error, status) in cases {
        let mut store = fresh();
        store
            .expect_release()
            .times(1)
            .withf(|key| key.reserved_id == RESERVED)
            .returning(|_| Ok(true));
        let reply = call(ports(store, failing(error)), keyed()).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
}

fn resumed_finding(found: Option<Customer>) -> MockSubmitKyc {
    let mut submit = MockSubmitKyc::new();
    submit
        .expect_accepted_submission()
        .times(1)
        .withf(|acct, id, submission| {
            (*acct, *id, *submission) == (account(), customer_id(), SubmissionId(RESERVED))
        })
        .returning(move |_, _, _| Ok(found.clone()));
    submit
}

#[actix_web::test]
async fn a_taken_over_key_whose_submission_was_accepted_is_answered_from_the_customer() {
    let (tx, rx) = mpsc::channel();
    let mut store = store_beginning(Begun::Resume {
        reserved_id: RESERVED,
    });
    store.expect_complete().times(1).returning(move |c| {
        tx.send(c.clone()).unwrap();
        Ok(true)
    });
    let mut submit = resumed_finding(Some(reviewed()));
    submit.expect_submit_kyc_reserved().never();
    let reply = call(ports(store, submit), keyed()).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.headers.get("idempotent-replayed").unwrap(), "true");
    let completion = rx.recv().unwrap();
    assert_eq!(completion.response, submitted(&reviewed()));
    assert_eq!(completion.response.body, reply.bytes);
    assert_eq!(completion.customer_id, Some(customer_id()));
}

#[actix_web::test]
async fn a_taken_over_key_without_an_accepted_submission_runs_again_as_that_submission() {
    let mut submit = resumed_finding(None);
    submit
        .expect_submit_kyc_reserved()
        .times(1)
        .withf(|_, _, _, reservation| reservation.reserved_id() == RESERVED)
        .returning(|_, _, _, _| Ok(reviewed()));
    let store = store_beginning(Begun::Resume {
        reserved_id: RESERVED,
    });
    let reply = call(ports(store, submit), keyed()).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert!(reply.headers.get("idempotent-replayed").is_none());
}

#[actix_web::test]
async fn a_bad_submission_never_touches_its_key_and_a_missing_key_may_be_required() {
    // The store expects nothing: any call fails the test.
    let mut bad = individual();
    bad["first_name"] = 7.into();
    let reply = call(
        ports(MockIdempotencyStore::new(), MockSubmitKyc::new()),
        post_kyc(&bad).insert_header(("Idempotency-Key", "kyc-1")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    let required = Ports {
        key_required: true,
        ..ports(MockIdempotencyStore::new(), MockSubmitKyc::new())
    };
    let reply = call(required, post_kyc(&individual())).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "idempotency_key_required");

    let reply = call(
        ports(MockIdempotencyStore::new(), MockSubmitKyc::new()),
        post_kyc(&individual()).insert_header(("Idempotency-Key", "")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"].get("Idempotency-Key").is_some(),
        "{}",
        reply.body
    );
}

#[actix_web::test]
async fn without_a_key_the_plain_use_case_runs_and_the_key_store_is_never_asked() {
    let mut submit = MockSubmitKyc::new();
    submit
        .expect_submit_kyc()
        .times(1)
        .returning(|_, _, _| Ok(reviewed()));
    let reply = call(
        ports(MockIdempotencyStore::new(), submit),
        post_kyc(&individual()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.bytes, submitted(&reviewed()).body);
}
