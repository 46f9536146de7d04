//! The KYC lifecycle driven by Bridge: a malformed webhook key refused at start-up, signed
//! webhooks on PostgreSQL applied once and in order, and the poller reading Bridge back.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use testkit::{sign_bridge_webhook, TempSqlite, TestKey, TestPostgres, TEST_PUBLIC_KEY};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::metrics;
use crate::helpers::{bridge_link, eventually_async, seed_body, start_on_postgres_with, TestApp};

#[tokio::test]
async fn a_malformed_webhook_key_stops_start_up_naming_the_setting() {
    let data = TempSqlite::new();
    let err = TestApp::start(&[
        "--data-dir".into(),
        data.dir().to_str().unwrap().into(),
        "--bridge-webhook-public-key".into(),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
    ])
    .await
    .err()
    .unwrap();
    assert!(
        format!("{err:#}").contains("BRIDGE_WEBHOOK_PUBLIC_KEY"),
        "{err:#}"
    );
}

/// A local Bridge that issues the seed's link, not started yet, and answers polls with
/// `polled` (when given).
async fn bridge(polled: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let mut link = bridge_link();
    link["kyc_status"] = "not_started".into();
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(link.clone()))
        .mount(&server)
        .await;
    if let Some(status) = polled {
        link["kyc_status"] = status.into();
        link["tos_status"] = "approved".into();
        Mock::given(method("GET"))
            .and(path("/v0/kyc_links/kyc_link_123"))
            .respond_with(ResponseTemplate::new(200).set_body_json(link))
            .mount(&server)
            .await;
    }
    server
}

/// Bridge's event about the seed's KYC link (or its customer), created at `at`.
fn link_event(event_id: &str, status: &str, at: chrono::DateTime<Utc>) -> Value {
    json!({
        "api_version": "v0",
        "event_id": event_id,
        "event_developer_id": "dev_1",
        "event_category": "kyc_link",
        "event_type": "kyc_link.updated.status_transitioned",
        "event_object_id": "kyc_link_123",
        "event_object_status": status,
        "event_object": {"id": "kyc_link_123", "kyc_status": status, "email": "tbash7676@gmail.com",
                         "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf"},
        "event_object_changes": {"kyc_status": ["not_started", status]},
        "event_created_at": at.to_rfc3339(),
    })
}

async fn deliver(
    app: &TestApp,
    key: TestKey,
    signed_at: chrono::DateTime<Utc>,
    body: &[u8],
) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/webhooks/bridge", app.address))
        .header("Content-Type", "application/json")
        .header(
            "X-Webhook-Signature",
            sign_bridge_webhook(key, signed_at.timestamp_millis(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn signed_bridge_events_move_customers_once_and_in_order_on_postgres() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge(None).await;
    let app = start_on_postgres_with(
        &db,
        &bridge,
        &[
            "--bridge-webhook-public-key",
            TEST_PUBLIC_KEY,
            "--kyc-sync-interval-seconds",
            "0",
        ],
    )
    .await;
    let (_, token) = app.account_token().await;
    let (status, created) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let now = Utc::now();
    let path = format!("/customer/{id}");

    let review = link_event("wh_2", "under_review", now + TimeDelta::seconds(2)).to_string();
    assert_eq!(
        deliver(&app, TestKey::Main, now, review.as_bytes()).await,
        (
            200,
            json!({"status": "success", "status_code": 200, "message": "Event received",
                     "data": {"outcome": "applied"}})
        )
    );
    assert_eq!(
        app.get(&token, &path).await.1["data"]["kyc_status"],
        "under_review"
    );
    // A redelivery is a no-op; an older event is kept in the history only.
    let (status, body) = deliver(&app, TestKey::Main, now, review.as_bytes()).await;
    assert_eq!(
        (status, &body["data"]["outcome"]),
        (200, &json!("duplicate"))
    );
    let older = link_event("wh_1", "incomplete", now + TimeDelta::seconds(1)).to_string();
    let (status, body) = deliver(&app, TestKey::Main, now, older.as_bytes()).await;
    assert_eq!((status, &body["data"]["outcome"]), (200, &json!("stale")));
    assert_eq!(
        app.get(&token, &path).await.1["data"]["kyc_status"],
        "under_review"
    );

    // The customer category, by Bridge's customer id: approved, terms accepted.
    let customer_event = json!({
        "api_version": "v0", "event_id": "wh_3", "event_category": "customer",
        "event_type": "updated.status_transitioned",
        "event_object_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf", "event_object_status": "active",
        "event_object": {"id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf", "status": "active",
                         "has_accepted_terms_of_service": true, "rejection_reasons": []},
        "event_object_changes": {}, "event_created_at": (now + TimeDelta::seconds(3)).to_rfc3339(),
    })
    .to_string();
    let (status, body) = deliver(&app, TestKey::Main, now, customer_event.as_bytes()).await;
    assert_eq!(
        (status, &body["data"]["outcome"]),
        (200, &json!("applied")),
        "{body}"
    );
    let data = app.get(&token, &path).await.1["data"].clone();
    assert_eq!(
        (&data["kyc_status"], &data["tos_status"]),
        (&json!("approved"), &json!("approved"))
    );

    let (_, kyc) = app.get(&token, &format!("/customer/{id}/kyc")).await;
    let history: Vec<(String, bool)> = kyc["data"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["event_id"].as_str().unwrap().to_owned(),
                h["applied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("wh_1".into(), false),
            ("wh_2".into(), true),
            ("wh_3".into(), true)
        ]
    );

    // Refusals, each with its answer; none of them changes anything.
    let fresh = link_event("wh_4", "rejected", now + TimeDelta::seconds(4)).to_string();
    let mut tampered = fresh.clone().into_bytes();
    let header = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), &tampered);
    tampered[10] ^= 1;
    let response = app
        .client
        .post(format!("{}/webhooks/bridge", app.address))
        .header("X-Webhook-Signature", header)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "invalid_signature"
    );
    let (status, body) = deliver(&app, TestKey::Other, now, fresh.as_bytes()).await;
    assert_eq!((status, &body["code"]), (400, &json!("invalid_signature")));
    let (status, body) = deliver(
        &app,
        TestKey::Main,
        now - TimeDelta::minutes(11),
        fresh.as_bytes(),
    )
    .await;
    assert_eq!((status, &body["code"]), (400, &json!("stale_event")));
    let (status, body) = deliver(
        &app,
        TestKey::Main,
        now + TimeDelta::minutes(2),
        fresh.as_bytes(),
    )
    .await;
    assert_eq!((status, &body["code"]), (400, &json!("stale_event")));
    let (status, body) = deliver(&app, TestKey::Main, now, b"not json").await;
    assert_eq!((status, &body["code"]), (400, &json!("invalid_json")));
    let unknown = link_event("wh_5", "pending_magic", now + TimeDelta::seconds(5)).to_string();
    let (status, body) = deliver(&app, TestKey::Main, now, unknown.as_bytes()).await;
    assert_eq!((status, &body["code"]), (422, &json!("unknown_value")));
    let big = vec![b' '; 256 * 1024 + 1];
    let (status, body) = deliver(&app, TestKey::Main, now, &big).await;
    assert_eq!((status, &body["code"]), (413, &json!("payload_too_large")));
    assert_eq!(
        app.get(&token, &path).await.1["data"]["kyc_status"],
        "approved"
    );

    // An event for no customer of ours is acknowledged so Bridge stops retrying.
    let mut stranger = link_event("wh_6", "approved", now);
    stranger["event_object"]["id"] = "kyc_link_someone_else".into();
    let (status, body) = deliver(&app, TestKey::Main, now, stranger.to_string().as_bytes()).await;
    assert_eq!(
        (status, &body["data"]["outcome"]),
        (200, &json!("unmatched"))
    );

    let text = metrics(&app).await;
    for line in [
        r#"kyc_events_total{outcome="applied",source="webhook"} 2"#,
        r#"kyc_events_total{outcome="duplicate",source="webhook"} 1"#,
        r#"kyc_events_total{outcome="stale",source="webhook"} 1"#,
        r#"kyc_events_total{outcome="unmatched",source="webhook"} 1"#,
        r#"kyc_events_total{outcome="invalid_signature",source="webhook"} 2"#,
        r#"kyc_events_total{outcome="stale_event",source="webhook"} 2"#,
        r#"kyc_events_total{outcome="unknown_value",source="webhook"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[tokio::test]
async fn the_poller_reads_bridge_back_and_moves_the_customer_on() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge(Some("approved")).await;
    // Patient with Bridge: a poll that timed out would wait out its lease.
    let app = start_on_postgres_with(
        &db,
        &bridge,
        &[
            "--kyc-sync-interval-seconds",
            "1",
            "--kyc-timeout-ms",
            "10000",
        ],
    )
    .await;
    let (_, token) = app.account_token().await;
    let (status, created) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["kyc_status"], "not_started");
    let path = format!("/customer/{}", created["data"]["id"].as_str().unwrap());
    let approved = eventually_async(Duration::from_secs(15), || async {
        app.get(&token, &path).await.1["data"]["kyc_status"] == "approved"
    })
    .await;
    assert!(approved, "the poller did not apply Bridge's answer");
    let (_, kyc) = app.get(&token, &format!("{path}/kyc")).await;
    assert!(kyc["data"]["last_synced_at"].is_string(), "{kyc}");
    assert_eq!(kyc["data"]["tos_status"], "approved");
    let history = kyc["data"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{kyc}");
    assert_eq!(history[0]["source"], "poll");
    assert_eq!(history[0]["event_id"], Value::Null);
    assert!(metrics(&app)
        .await
        .contains(r#"kyc_sync_rounds_total{result="ok"}"#));
    // Approved is final: the customer is not polled again.
    let polls = || async {
        bridge
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .count()
    };
    let before = polls().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(polls().await, before);
}
