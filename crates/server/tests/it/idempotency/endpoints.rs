//! `POST /webhook-endpoints` with an `Idempotency-Key` on the real application, on both
//! stores: a replay registers nothing more and shows the first answer with `"secret":
//! null`, no stored answer holds the secret, other content is refused, a `409` releases
//! the key; and `IDEMPOTENCY_KEY_REQUIRED` on every creating `POST`.

use serde_json::{json, Value};

use super::{on_both_stores, post, post_at, Db};
use crate::helpers::{bridge_ok, seed_body, TestApp};

/// Receivers on loopback over plain http, as tests have them.
const LOCAL: [&str; 2] = ["--webhook-allow-http", "--webhook-allow-private-networks"];

fn registration(n: u16) -> Value {
    json!({"url": format!("http://127.0.0.1:{n}/hook"), "description": "orders"})
}

/// The account's endpoints, as listed.
async fn endpoints(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, listed) = app.get(token, "/webhook-endpoints").await;
    assert_eq!(status, 200, "{listed}");
    listed["data"].as_array().unwrap().clone()
}

async fn a_replay_registers_nothing_more_and_no_stored_answer_holds_the_secret(db: Db) {
    let bridge = bridge_ok().await;
    let app = db.start(&bridge, &LOCAL).await;
    let token = app.token().await;

    let first = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("hook-1"),
        &registration(1),
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.json());
    assert!(!first.is_replay());
    let secret = first.json()["data"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    let again = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("hook-1"),
        &registration(1),
    )
    .await;
    assert_eq!(again.status, 201);
    assert!(again.is_replay());
    // The first answer byte for byte, but for the secret, shown once.
    let first_text = String::from_utf8(first.bytes.clone()).unwrap();
    assert_eq!(
        String::from_utf8(again.bytes.clone()).unwrap(),
        first_text.replace(&format!("\"secret\":\"{secret}\""), "\"secret\":null")
    );
    assert_eq!(again.json()["data"]["secret"], Value::Null);
    assert_eq!(again.json()["data"]["id"], first.json()["data"]["id"]);

    let other = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("hook-1"),
        &registration(2),
    )
    .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.json()["code"], "idempotency_key_reused");

    // One endpoint, one secret: the registered endpoint is the first answer's.
    let listed = endpoints(&app, &token).await;
    let [endpoint] = listed.as_slice() else {
        panic!("{listed:?}")
    };
    assert_eq!(endpoint["id"], first.json()["data"]["id"]);
    assert_eq!(db.count("webhook_endpoints"), 1);
    // The stored answer is there, and without the secret (nor its key material).
    let stored = db.stored_bodies();
    assert_eq!(stored.len(), 1);
    let key_material = secret.trim_start_matches("whsec_");
    for body in &stored {
        let text = String::from_utf8_lossy(body);
        assert!(text.contains("\"secret\":null"), "{text}");
        assert!(
            !text.contains(key_material),
            "a stored answer holds the secret"
        );
    }
}

async fn a_refused_registration_releases_its_key_for_a_later_retry(db: Db) {
    let bridge = bridge_ok().await;
    let app = db.start(&bridge, &LOCAL).await;
    let token = app.token().await;
    let mut taken = Vec::new();
    for n in 1..=10 {
        let answer = post_at(&app, "/webhook-endpoints", &token, None, &registration(n)).await;
        assert_eq!(answer.status, 201, "{:?}", answer.json());
        taken.push(answer.json());
    }

    let refused = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("later"),
        &registration(11),
    )
    .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.json()["code"], "endpoint_limit_reached");
    // Not stored: once there is room, the same key registers.
    let id = taken[0]["data"]["id"].as_str().unwrap();
    let deleted = app
        .client
        .delete(format!("{}/webhook-endpoints/{id}", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let retried = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("later"),
        &registration(11),
    )
    .await;
    assert_eq!(retried.status, 201, "{:?}", retried.json());
    assert!(!retried.is_replay());
    assert!(retried.json()["data"]["secret"].is_string());
}

async fn required_keys_apply_to_every_creating_post(db: Db) {
    let bridge = bridge_ok().await;
    let mut settings = LOCAL.to_vec();
    settings.extend(["--idempotency-key-required", "true"]);
    let app = db.start(&bridge, &settings).await;
    let token = app.token().await;
    let created = post(&app, &token, Some("customer-1"), &seed_body()).await;
    assert_eq!(created.status, 201, "{:?}", created.json());
    let customer = created.json()["data"]["id"].as_str().unwrap().to_owned();

    for (path, body) in [
        ("/customer".to_owned(), seed_body()),
        (
            format!("/customer/{customer}/kyc"),
            testkit::individual_submission_body(),
        ),
        ("/webhook-endpoints".to_owned(), registration(1)),
    ] {
        let refused = post_at(&app, &path, &token, None, &body).await;
        assert_eq!(refused.status, 400, "{path}: {:?}", refused.json());
        assert_eq!(refused.json()["code"], "idempotency_key_required", "{path}");
    }
    assert_eq!(db.count("webhook_endpoints"), 0);
    assert_eq!(db.count("kyc_submissions"), 0);
    let registered = post_at(
        &app,
        "/webhook-endpoints",
        &token,
        Some("hook-1"),
        &registration(1),
    )
    .await;
    assert_eq!(registered.status, 201, "{:?}", registered.json());
}

on_both_stores!(
    a_replay_registers_nothing_more_and_no_stored_answer_holds_the_secret,
    a_refused_registration_releases_its_key_for_a_later_retry,
    required_keys_apply_to_every_creating_post,
);
