//! `POST /customer/{id}/kyc` with an `Idempotency-Key` on the real application, on both
//! stores, with a local stand-in for Bridge: a replay is the first answer without a second
//! submission to Bridge, other content is refused, a `409` is stored, a `502` is retried
//! into one submission, and a crashed request is answered from its accepted record or run
//! again as the same submission.

use chrono::{DurationRound, TimeDelta, Utc};
use domain::{AccountId, CustomerId, KycOrder, KycStatus, SubmissionId, SubmissionOutcome};
use ports::{
    Begun, CustomerRepository, IdempotencyKey, IdempotencyScope, IdempotencyStore, KeyClaim,
    KycChange, KycSubmissionRepository, SubmissionClaim, SubmissionFinish,
};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{on_both_stores, post, post_at, Db};
use crate::helpers::{bridge_ok, seed_body, TestApp};

/// The customer id in the KYC link [`crate::helpers::bridge_link`] issues: a submission
/// updates this customer of Bridge's.
const BRIDGE_CUSTOMER: &str = "7d5b9315-796e-4d4d-b771-1ee5997e4abf";

/// Bridge issuing links, failing the first `failures` submissions with a 500 and taking
/// the next one (under review); it expects exactly `takes` of those.
async fn bridge(failures: u64, takes: u64) -> MockServer {
    let bridge = bridge_ok().await;
    let submission =
        || Mock::given(method("PUT")).and(path(format!("/v0/customers/{BRIDGE_CUSTOMER}")));
    if failures > 0 {
        submission()
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(failures)
            .expect(failures)
            .mount(&bridge)
            .await;
    }
    submission()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": BRIDGE_CUSTOMER,
            "status": "under_review",
            "has_accepted_terms_of_service": true,
            "rejection_reasons": []
        })))
        .expect(takes)
        .mount(&bridge)
        .await;
    bridge
}

/// How many submissions Bridge received.
async fn submissions_sent(bridge: &MockServer) -> usize {
    let received = bridge.received_requests().await.unwrap();
    received
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count()
}

/// A new customer of the token's account; its id.
async fn customer(app: &TestApp, token: &str) -> String {
    let created = post(app, token, None, &seed_body()).await;
    assert_eq!(created.status, 201, "{:?}", created.json());
    created.json()["data"]["id"].as_str().unwrap().to_owned()
}

/// The customer's submissions as `GET /customer/{id}/kyc` lists them.
async fn listed(app: &TestApp, token: &str, customer: &str) -> Vec<Value> {
    let (status, body) = app.get(token, &format!("/customer/{customer}/kyc")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["submissions"].as_array().unwrap().clone()
}

async fn a_replay_is_the_first_answer_without_a_second_submission_to_bridge(db: Db) {
    let bridge = bridge(0, 1).await;
    let app = db.start(&bridge, &[]).await;
    let token = app.token().await;
    let id = customer(&app, &token).await;
    let kyc = format!("/customer/{id}/kyc");
    let body = testkit::individual_submission_body();

    let first = post_at(&app, &kyc, &token, Some("kyc-1"), &body).await;
    assert_eq!(first.status, 202, "{:?}", first.json());
    assert!(!first.is_replay());
    assert_eq!(first.json()["data"]["kyc_status"], "under_review");
    let again = post_at(&app, &kyc, &token, Some("kyc-1"), &body).await;
    assert_eq!(again.status, 202);
    assert!(again.is_replay());
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.content_type, first.content_type);

    let mut other = body.clone();
    other["first_name"] = "Augusta".into();
    let refused = post_at(&app, &kyc, &token, Some("kyc-1"), &other).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["code"], "idempotency_key_reused");

    // Under review now: a new key's submission is refused, and that refusal is stored.
    let busy = post_at(&app, &kyc, &token, Some("kyc-2"), &body).await;
    assert_eq!(busy.status, 409, "{:?}", busy.json());
    assert_eq!(busy.json()["code"], "kyc_in_progress");
    let busy_again = post_at(&app, &kyc, &token, Some("kyc-2"), &body).await;
    assert!(busy_again.is_replay());
    assert_eq!((busy_again.status, &busy_again.bytes), (409, &busy.bytes));

    assert_eq!(submissions_sent(&bridge).await, 1);
    assert_eq!(listed(&app, &token, &id).await.len(), 1);
}

async fn a_submission_that_failed_with_502_is_retried_with_the_same_key_and_succeeds_once(db: Db) {
    let bridge = bridge(1, 1).await;
    let app = db.start(&bridge, &["--kyc-max-attempts", "1"]).await;
    let token = app.token().await;
    let id = customer(&app, &token).await;
    let kyc = format!("/customer/{id}/kyc");
    let body = testkit::individual_submission_body();

    let failed = post_at(&app, &kyc, &token, Some("retry-me"), &body).await;
    assert_eq!(failed.status, 502, "{:?}", failed.json());
    let retried = post_at(&app, &kyc, &token, Some("retry-me"), &body).await;
    assert_eq!(retried.status, 202, "{:?}", retried.json());
    assert!(!retried.is_replay());
    let again = post_at(&app, &kyc, &token, Some("retry-me"), &body).await;
    assert!(again.is_replay());
    assert_eq!(again.bytes, retried.bytes);

    assert_eq!(submissions_sent(&bridge).await, 2);
    // One request, one submission: the retry ran as the record the failure left.
    let submissions = listed(&app, &token, &id).await;
    let [submission] = submissions.as_slice() else {
        panic!("{submissions:?}")
    };
    assert_eq!(submission["outcome"], "accepted");
}

/// Plays a request for `customer` that claimed `key` with `body` and crashed: its lease is
/// over. The submission id it reserved.
async fn crashed_claim(db: &Db, account: Uuid, customer: &str, body: &Value) -> Uuid {
    let now = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
        - TimeDelta::seconds(600);
    let claim = KeyClaim {
        scope: IdempotencyScope {
            account: AccountId(account),
            method: "POST".into(),
            path: format!("/customer/{customer}/kyc"),
            key: IdempotencyKey::parse("crashed").unwrap(),
        },
        fingerprint: api::idempotency::fingerprint(body),
        candidate_id: Uuid::new_v4(),
        now,
        lease_until: now + TimeDelta::seconds(180),
        expires_at: now + TimeDelta::seconds(86_400),
    };
    let begun = db.store().begin(&claim).await.unwrap();
    assert!(matches!(begun, Begun::Fresh { .. }), "{begun:?}");
    claim.candidate_id
}

/// The crashed request's submission, claimed under its reserved id; the customer then.
async fn crashed_submission(
    db: &Db,
    account: Uuid,
    customer: &str,
    reserved: Uuid,
) -> (SubmissionClaim, domain::Customer) {
    let store = db.store();
    let customer = CustomerRepository::find(
        &store,
        AccountId(account),
        CustomerId(customer.parse().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let submitted_at = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap();
    let claim = SubmissionClaim {
        id: SubmissionId(reserved),
        account_id: customer.account_id,
        customer_id: customer.id,
        customer_type: customer.customer_type,
        submitted_at,
        summary: testkit::individual_submission().summary(),
        blocking_statuses: vec![KycStatus::UnderReview],
        abandon_before: submitted_at - TimeDelta::minutes(5),
    };
    store.claim_submission(&claim).await.unwrap();
    (claim, customer)
}

async fn a_crashed_submission_that_was_accepted_is_answered_from_the_customer(db: Db) {
    // Bridge is not asked again: the answer is rebuilt from what the record left.
    let bridge = bridge(0, 0).await;
    let app = db.start(&bridge, &[]).await;
    let (account, token) = app.account_token().await;
    let id = customer(&app, &token).await;
    let body = testkit::individual_submission_body();
    let reserved = crashed_claim(&db, account, &id, &body).await;
    // The crashed request got as far as its accepted submission and the customer's change
    // (as a request could whose record and outcome were not written together).
    let (claim, customer) = crashed_submission(&db, account, &id, reserved).await;
    let mut changed = customer.clone();
    changed.kyc_state.kyc_status = KycStatus::UnderReview;
    changed.kyc_as_of = KycOrder::at(claim.submitted_at);
    changed.version = customer.version + 1;
    changed.updated_at = Some(claim.submitted_at);
    db.store()
        .finish_submission(&SubmissionFinish {
            id: claim.id,
            outcome: SubmissionOutcome::Accepted,
            kyc_status: Some(KycStatus::UnderReview),
            provider_reference: Some(BRIDGE_CUSTOMER.into()),
            refused_fields: Vec::new(),
            finished_at: claim.submitted_at,
            customer: Some(KycChange {
                expected_version: customer.version,
                expected_as_of: customer.kyc_as_of,
                customer: changed,
            }),
            history: None,
            events: Vec::new(),
            idempotency: None,
        })
        .await
        .unwrap();

    let kyc = format!("/customer/{id}/kyc");
    let answer = post_at(&app, &kyc, &token, Some("crashed"), &body).await;
    assert_eq!(answer.status, 202, "{:?}", answer.json());
    assert!(answer.is_replay());
    assert_eq!(answer.json()["data"]["kyc_status"], "under_review");
    // The rebuilt answer is now the stored one.
    let again = post_at(&app, &kyc, &token, Some("crashed"), &body).await;
    assert!(again.is_replay());
    assert_eq!(again.bytes, answer.bytes);
    assert_eq!(submissions_sent(&bridge).await, 0);
}

async fn a_crashed_submission_left_pending_runs_again_as_the_same_submission(db: Db) {
    let bridge = bridge(0, 1).await;
    let app = db.start(&bridge, &[]).await;
    let (account, token) = app.account_token().await;
    let id = customer(&app, &token).await;
    let body = testkit::individual_submission_body();
    let reserved = crashed_claim(&db, account, &id, &body).await;
    // It stopped while Bridge had the submission: its record is still pending.
    crashed_submission(&db, account, &id, reserved).await;

    let answer = post_at(
        &app,
        &format!("/customer/{id}/kyc"),
        &token,
        Some("crashed"),
        &body,
    )
    .await;
    assert_eq!(answer.status, 202, "{:?}", answer.json());
    assert!(!answer.is_replay());
    assert_eq!(submissions_sent(&bridge).await, 1);
    let submissions = listed(&app, &token, &id).await;
    let [submission] = submissions.as_slice() else {
        panic!("{submissions:?}")
    };
    assert_eq!(
        (&submission["id"], &submission["outcome"]),
        (&json!(reserved.to_string()), &json!("accepted"))
    );
}

on_both_stores!(
    a_replay_is_the_first_answer_without_a_second_submission_to_bridge,
    a_submission_that_failed_with_502_is_retried_with_the_same_key_and_succeeds_once,
    a_crashed_submission_that_was_accepted_is_answered_from_the_customer,
    a_crashed_submission_left_pending_runs_again_as_the_same_submission,
);
