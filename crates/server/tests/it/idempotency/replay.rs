//! Replays: the same key and content get the first answer byte for byte, with no second
//! provider call, mail or row — also after a restart and under concurrency; other content is
//! refused; keys are per account; keys can be required.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{on_both_stores, post, Answer, Db};
use crate::helpers::{bridge_link, seed_body};

/// Bridge answering every KYC-link request after `delay`, expecting `calls` of them.
async fn bridge(delay: Duration, calls: u64) -> MockServer {
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(bridge_link())
                .set_delay(delay),
        )
        .expect(calls)
        .mount(&bridge)
        .await;
    bridge
}

async fn a_replay_is_the_first_answer_byte_for_byte_without_a_second_call_or_row(db: Db) {
    let bridge = bridge(Duration::ZERO, 1).await;
    let app = db.start(&bridge, &[]).await;
    let token = app.token().await;

    let first = post(&app, &token, Some("order-1"), &seed_body()).await;
    assert_eq!(first.status, 201, "{:?}", first.json());
    assert_eq!(first.replayed, None);

    // The same content laid out differently is the same request.
    let reordered = json!({
        "send_kyc_mail": true,
        "customer_type": "individual",
        "customer_country": "USA",
        "customer_phone": "+2349039395114",
        "customer_email": "tbash7676@gmail.com",
        "customer_name": "Emmanuel A Towoju",
    });
    assert_eq!(reordered, seed_body(), "the same content");
    let pretty = serde_json::to_string_pretty(&reordered).unwrap();
    let again = Answer::post(
        &app.client,
        &app.address,
        &token,
        Some("\"order-1\""),
        &pretty,
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.content_type, first.content_type);
    assert_eq!(again.replayed.as_deref(), Some("true"));

    // One row, and so one mail: the mail is queued in the customer's own transaction.
    assert_eq!(db.count("customers"), 1);
    // The customer as stored is the one the answer shows.
    let id = first.json()["data"]["id"].as_str().unwrap().to_owned();
    let (status, read) = app.get(&token, &format!("/customer/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["data"]["kyc_link"], first.json()["data"]["kyc_link"]);
}

async fn the_same_key_with_other_content_is_422_and_creates_nothing(db: Db) {
    let bridge = bridge(Duration::ZERO, 1).await;
    let app = db.start(&bridge, &[]).await;
    let token = app.token().await;
    assert_eq!(
        post(&app, &token, Some("k"), &seed_body()).await.status,
        201
    );

    let mut other = seed_body();
    other["customer_email"] = "someone.else@example.com".into();
    let refused = post(&app, &token, Some("k"), &other).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["code"], "idempotency_key_reused");
    assert_eq!(db.count("customers"), 1);
}

async fn ten_concurrent_requests_with_one_key_create_one_customer_with_one_provider_call(db: Db) {
    // Slow, but within the 700 ms provider timeout the test application runs with.
    let bridge = bridge(Duration::from_millis(400), 1).await;
    let app = Arc::new(db.start(&bridge, &[]).await);
    let token = app.token().await;

    let requests: Vec<_> = (0..10)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { post(&app, &token, Some("raced"), &seed_body()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }

    let created: Vec<_> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.is_replay())
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let in_use = answers.iter().filter(|a| a.status == 409).count();
    assert!(
        in_use >= 1,
        "the provider is slow: some must find the key in use"
    );
    for answer in &answers {
        match answer.status {
            409 => {
                assert_eq!(answer.json()["code"], "idempotency_key_in_use");
                assert_eq!(answer.retry_after.as_deref(), Some("1"));
            }
            201 if answer.is_replay() => assert_eq!(answer.bytes, created[0].bytes),
            201 => {}
            other => panic!("unexpected {other}: {:?}", answer.json()),
        }
    }
    assert_eq!(db.count("customers"), 1);
    // The provider mock's expectation (one call) is checked when it is dropped.
}

async fn a_replay_survives_a_restart(db: Db) {
    let bridge = bridge(Duration::ZERO, 1).await;
    let app = db.start(&bridge, &[]).await;
    let token = app.token().await;
    let first = post(&app, &token, Some("before-restart"), &seed_body()).await;
    assert_eq!(first.status, 201);
    app.handle.stop(true).await;

    let restarted = db.start(&bridge, &[]).await;
    let again = post(&restarted, &token, Some("before-restart"), &seed_body()).await;
    assert_eq!(again.status, 201);
    assert!(again.is_replay());
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(db.count("customers"), 1);
}

async fn one_key_in_two_accounts_is_two_requests(db: Db) {
    let bridge = bridge(Duration::ZERO, 2).await;
    let app = db.start(&bridge, &[]).await;
    let (first_account, first_token) = app.account_token().await;
    let (second_account, second_token) = app.account_token().await;

    let first = post(&app, &first_token, Some("shared-key"), &seed_body()).await;
    let second = post(&app, &second_token, Some("shared-key"), &seed_body()).await;
    for (answer, account) in [(&first, first_account), (&second, second_account)] {
        assert_eq!(answer.status, 201, "{:?}", answer.json());
        assert!(!answer.is_replay());
        let id = answer.json()["data"]["id"].as_str().unwrap().to_owned();
        let token = if account == first_account {
            &first_token
        } else {
            &second_token
        };
        assert_eq!(app.get(token, &format!("/customer/{id}")).await.0, 200);
    }
    assert_ne!(first.json()["data"]["id"], second.json()["data"]["id"]);
    assert_eq!(db.count("customers"), 2);
}

async fn required_keys_refuse_a_creating_request_without_one_but_not_a_login(db: Db) {
    let bridge = bridge(Duration::ZERO, 1).await;
    let app = db
        .start(&bridge, &["--idempotency-key-required", "true"])
        .await;
    // Logging in (an exempt route) needs no key.
    let token = app.token().await;

    let refused = post(&app, &token, None, &seed_body()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["code"], "idempotency_key_required");
    assert_eq!(db.count("customers"), 0);
    assert_eq!(
        post(&app, &token, Some("k"), &seed_body()).await.status,
        201
    );
}

on_both_stores!(
    a_replay_is_the_first_answer_byte_for_byte_without_a_second_call_or_row,
    the_same_key_with_other_content_is_422_and_creates_nothing,
    ten_concurrent_requests_with_one_key_create_one_customer_with_one_provider_call,
    a_replay_survives_a_restart,
    one_key_in_two_accounts_is_two_requests,
    required_keys_refuse_a_creating_request_without_one_but_not_a_login,
);
