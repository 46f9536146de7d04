//! Keys after something went wrong: a `502` releases the key and the retry succeeds once,
//! with the provider seeing the same idempotency key; a request that crashed is taken over
//! once its lease ends (answered from its row if it wrote one, else run again under its
//! reserved id); expired keys are forgotten, and purged.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use domain::CustomerId;
use ports::{
    Begun, CustomerRepository, IdempotencyKey, IdempotencyScope, IdempotencyStore, KeyClaim,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{on_both_stores, post, Db};
use crate::helpers::{bridge_link, bridge_ok, eventually, seed_body};

/// The `Idempotency-Key` of every request Bridge received.
async fn provider_keys(bridge: &MockServer) -> Vec<String> {
    bridge
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn a_request_that_failed_with_502_is_retried_with_the_same_key_and_succeeds_once(db: Db) {
    let bridge = MockServer::start().await;
    // Both attempts of the first request fail; then Bridge recovers.
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&bridge)
        .await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bridge_link()))
        .mount(&bridge)
        .await;
    let app = db.start(&bridge, &[]).await;
    let token = app.token().await;

    let failed = post(&app, &token, Some("retry-me"), &seed_body()).await;
    assert_eq!(failed.status, 502, "{:?}", failed.json());
    assert_eq!(db.count("customers"), 0);

    let retried = post(&app, &token, Some("retry-me"), &seed_body()).await;
    assert_eq!(retried.status, 201, "{:?}", retried.json());
    assert!(!retried.is_replay());
    let again = post(&app, &token, Some("retry-me"), &seed_body()).await;
    assert!(again.is_replay());
    assert_eq!(again.bytes, retried.bytes);
    assert_eq!(db.count("customers"), 1);

    // Every provider call, before and after the 502, carried the same key: the reserved id.
    let id = retried.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        provider_keys(&bridge).await,
        vec![format!("customer-{id}"); 3]
    );
}

/// Plays a request that claimed `key` for `account` and crashed: its lease is over.
async fn crashed_claim(db: &Db, account: Uuid, key: &str) -> Uuid {
    let now = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
        - TimeDelta::seconds(120);
    let claim = KeyClaim {
        scope: IdempotencyScope {
            account: domain::AccountId(account),
            method: "POST".into(),
            path: "/customer".into(),
            key: IdempotencyKey::parse(key).unwrap(),
        },
        fingerprint: api::idempotency::fingerprint(&seed_body()),
        candidate_id: Uuid::new_v4(),
        now,
        lease_until: now + TimeDelta::seconds(90),
        expires_at: now + TimeDelta::seconds(86_400),
    };
    let begun = db.store().begin(&claim).await.unwrap();
    assert_eq!(
        begun,
        Begun::Fresh {
            reserved_id: claim.candidate_id
        }
    );
    claim.candidate_id
}

async fn a_crashed_request_that_wrote_its_customer_is_replayed_not_refused_with_409(db: Db) {
    // No provider call: the answer is rebuilt from the row.
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bridge_link()))
        .expect(0)
        .mount(&bridge)
        .await;
    let app = db.start(&bridge, &[]).await;
    let (account, token) = app.account_token().await;
    let reserved = crashed_claim(&db, account, "crashed").await;
    // The crashed request got as far as its customer (as a request could whose row and
    // outcome were not written together), under the reserved id.
    let mut customer = testkit::sample_customer(domain::AccountId(account), "tbash7676@gmail.com");
    customer.id = CustomerId(reserved);
    db.store()
        .insert(&testkit::registration(&customer))
        .await
        .unwrap();

    let answer = post(&app, &token, Some("crashed"), &seed_body()).await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    assert!(answer.is_replay());
    assert_eq!(answer.json()["data"]["id"], reserved.to_string());
    // The rebuilt answer is now the stored one.
    let again = post(&app, &token, Some("crashed"), &seed_body()).await;
    assert!(again.is_replay());
    assert_eq!(again.bytes, answer.bytes);
    assert_eq!(db.count("customers"), 1);
}

async fn a_crashed_request_that_wrote_nothing_runs_again_under_its_reserved_id(db: Db) {
    let bridge = bridge_ok().await;
    let app = db.start(&bridge, &[]).await;
    let (account, token) = app.account_token().await;
    let reserved = crashed_claim(&db, account, "crashed").await;

    let answer = post(&app, &token, Some("crashed"), &seed_body()).await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    assert!(!answer.is_replay());
    assert_eq!(answer.json()["data"]["id"], reserved.to_string());
    assert_eq!(
        provider_keys(&bridge).await,
        vec![format!("customer-{reserved}")]
    );
}

async fn expired_keys_are_purged_and_then_new(db: Db) {
    let bridge = bridge_ok().await;
    let app = db
        .start(
            &bridge,
            &[
                "--idempotency-ttl-seconds",
                "1",
                "--idempotency-purge-interval-seconds",
                "1",
            ],
        )
        .await;
    let token = app.token().await;
    assert_eq!(
        post(&app, &token, Some("short-lived"), &seed_body())
            .await
            .status,
        201
    );
    assert_eq!(db.count("idempotency_keys"), 1);

    assert!(
        eventually(Duration::from_secs(10), || db.count("idempotency_keys")
            == 0)
        .await,
        "the purge never deleted the expired key"
    );
    // Forgotten: the key now names a new request, so other content is no mismatch.
    let mut other = seed_body();
    other["customer_email"] = "someone.else@example.com".into();
    let answer = post(&app, &token, Some("short-lived"), &other).await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    assert!(!answer.is_replay());
}

async fn an_expired_key_is_new_even_before_the_purge_runs(db: Db) {
    let bridge = bridge_ok().await;
    let app = db
        .start(
            &bridge,
            &[
                "--idempotency-ttl-seconds",
                "1",
                "--idempotency-purge-interval-seconds",
                "86400",
            ],
        )
        .await;
    let token = app.token().await;
    assert_eq!(
        post(&app, &token, Some("short-lived"), &seed_body())
            .await
            .status,
        201
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mut other = seed_body();
    other["customer_email"] = "someone.else@example.com".into();
    let answer = post(&app, &token, Some("short-lived"), &other).await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    assert_eq!(db.count("customers"), 2);
    // The first purge ran at start-up, before the key existed; the record was replaced.
    assert_eq!(db.count("idempotency_keys"), 1);
}

on_both_stores!(
    a_request_that_failed_with_502_is_retried_with_the_same_key_and_succeeds_once,
    a_crashed_request_that_wrote_its_customer_is_replayed_not_refused_with_409,
    a_crashed_request_that_wrote_nothing_runs_again_under_its_reserved_id,
    expired_keys_are_purged_and_then_new,
    an_expired_key_is_new_even_before_the_purge_runs,
);
