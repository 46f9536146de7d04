//! Deliveries: one signed event per subscribed endpoint, retries on the schedule until a
//! 2xx or the end, replays, and secret rotation.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use testkit::TestPostgres;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{
    app, call, create_customer, deliveries, received, receiver, register, settled_delivery,
    verifies, wait_for, LOCAL_RECEIVERS,
};

fn body_of(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_creation_sends_one_signed_customer_created_to_each_subscribed_endpoint() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let (token, other_token) = (app.token().await, app.token().await);
    let everything = receiver(ResponseTemplate::new(200)).await;
    let created_only = receiver(ResponseTemplate::new(204)).await;
    let approvals_only = receiver(ResponseTemplate::new(200)).await;
    let disabled = receiver(ResponseTemplate::new(200)).await;
    let other_account = receiver(ResponseTemplate::new(200)).await;
    let (all_id, all_secret) = register(&app, &token, &everything, json!([])).await;
    let (_, created_secret) =
        register(&app, &token, &created_only, json!(["customer.created"])).await;
    register(
        &app,
        &token,
        &approvals_only,
        json!(["customer.kyc.approved"]),
    )
    .await;
    let (disabled_id, _) = register(&app, &token, &disabled, json!([])).await;
    let (status, body) = call(
        &app,
        Method::PATCH,
        &token,
        &format!("/webhook-endpoints/{disabled_id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(
        (status, &body["data"]["enabled"]),
        (200, &json!(false)),
        "{body}"
    );
    register(&app, &other_token, &other_account, json!([])).await;

    let customer = create_customer(&app, &token, 1).await;

    for (receiver, secret) in [(&everything, &all_secret), (&created_only, &created_secret)] {
        let requests = wait_for(receiver, 1).await;
        let [request] = requests.as_slice() else {
            panic!("one delivery expected, got {}", requests.len())
        };
        assert!(verifies(request, secret), "the signature does not verify");
        let event = body_of(request);
        assert_eq!(event["type"], "customer.created");
        assert_eq!(
            request.headers.get("webhook-id").unwrap().to_str().unwrap(),
            event["id"].as_str().unwrap()
        );
        // The customer as the creation answered it, fixed when the event was written.
        assert_eq!(event["data"], customer);
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    }
    // Each endpoint has its own secret.
    assert!(!verifies(&received(&created_only).await[0], &all_secret));
    let delivered = settled_delivery(&app, &token, &all_id, "delivered").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["last_http_status"], 200);
    assert_eq!(delivered["event_type"], "customer.created");
    assert!(delivered["delivered_at"].is_string() && delivered["failed_at"].is_null());

    // Nothing more arrives anywhere, and nothing at all where nothing was due.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(received(&everything).await.len(), 1);
    assert_eq!(received(&created_only).await.len(), 1);
    for silent in [&approvals_only, &disabled, &other_account] {
        assert!(received(silent).await.is_empty());
    }
}

#[tokio::test]
async fn a_receiver_answering_500_then_200_gets_the_event_twice_and_it_ends_delivered() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let flaky = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500).set_body_string("warming up"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&flaky)
        .await;
    let (endpoint, secret) = register(&app, &token, &flaky, json!([])).await;

    create_customer(&app, &token, 1).await;

    let delivered = settled_delivery(&app, &token, &endpoint, "delivered").await;
    let requests = received(&flaky).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert!(verifies(request, &secret));
    }
    let id = |r: &wiremock::Request| r.headers.get("webhook-id").unwrap().clone();
    assert_eq!(id(&requests[0]), id(&requests[1]), "one event, one id");
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["last_http_status"], 200);
    assert!(delivered["last_error"].is_null());
}

#[tokio::test]
async fn a_receiver_that_never_answers_ends_failed_after_the_schedule() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let silent = receiver(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let (endpoint, _) = register(&app, &token, &silent, json!([])).await;

    create_customer(&app, &token, 1).await;

    let failed = settled_delivery(&app, &token, &endpoint, "failed").await;
    // The first attempt and one per pause of the schedule (100ms, 100ms).
    assert_eq!(failed["attempts"], 3);
    assert!(failed["last_http_status"].is_null());
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{failed}"
    );
    assert!(failed["failed_at"].is_string() && failed["next_attempt_at"].is_null());
    assert_eq!(wait_for(&silent, 3).await.len(), 3);
}

#[tokio::test]
async fn a_retried_delivery_sends_the_same_event_again() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, secret) = register(&app, &token, &hook, json!([])).await;
    create_customer(&app, &token, 1).await;
    let delivered = settled_delivery(&app, &token, &endpoint, "delivered").await;

    let (status, body) = call(
        &app,
        Method::POST,
        &token,
        &format!(
            "/webhook-endpoints/{endpoint}/deliveries/{}/retry",
            delivered["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["data"]["status"], "queued");
    assert_eq!(body["data"]["attempts"], 0);

    let requests = wait_for(&hook, 2).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert!(verifies(&requests[1], &secret));
    let again = settled_delivery(&app, &token, &endpoint, "delivered").await;
    assert_eq!(
        (again["id"].clone(), again["attempts"].clone()),
        (delivered["id"].clone(), json!(1))
    );
    assert_eq!(deliveries(&app, &token, &endpoint).await.len(), 1);
}

/// Ends the rotation overlap of every endpoint now, as 24 hours would.
fn end_overlaps(db: &TestPostgres) {
    use diesel::connection::SimpleConnection as _;
    use diesel::Connection as _;
    diesel::PgConnection::establish(db.url())
        .unwrap()
        .batch_execute(
            "UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' \
             WHERE previous_secret_expires_at IS NOT NULL",
        )
        .unwrap();
}

#[tokio::test]
async fn after_a_rotation_both_secrets_verify_until_the_overlap_ends_then_only_the_new_one() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, old_secret) = register(&app, &token, &hook, json!([])).await;

    let (status, body) = call(
        &app,
        Method::POST,
        &token,
        &format!("/webhook-endpoints/{endpoint}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new_secret = body["data"]["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != old_secret);
    assert!(body["data"]["updated_at"].is_string());
    // The secret is never shown again.
    let (_, read) = app
        .get(&token, &format!("/webhook-endpoints/{endpoint}"))
        .await;
    assert!(read["data"].get("secret").is_none(), "{read}");

    create_customer(&app, &token, 1).await;
    let during = wait_for(&hook, 1).await.remove(0);
    let signatures = during
        .headers
        .get("webhook-signature")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(verifies(&during, &new_secret), "the new secret must verify");
    assert!(
        verifies(&during, &old_secret),
        "the old secret must verify during the overlap"
    );

    end_overlaps(&db);
    create_customer(&app, &token, 2).await;
    let after = wait_for(&hook, 2).await.remove(1);
    let signatures = after
        .headers
        .get("webhook-signature")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(signatures.split(' ').count(), 1, "{signatures}");
    assert!(verifies(&after, &new_secret));
    assert!(
        !verifies(&after, &old_secret),
        "the old secret must not verify after the overlap"
    );
}

#[tokio::test]
async fn metrics_count_deliveries_by_outcome_and_show_the_webhook_backlog() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (app, _bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = app.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, _) = register(&app, &token, &hook, json!([])).await;
    create_customer(&app, &token, 1).await;
    settled_delivery(&app, &token, &endpoint, "delivered").await;

    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"outbox_attempts_total{kind="webhook",outcome="delivered"} 1"#,
        r#"outbox_jobs_ended_total{kind="webhook",outcome="delivered"} 1"#,
        r#"outbox_jobs_queued{kind="webhook"} 0"#,
        r#"outbox_oldest_job_age_seconds{kind="webhook"} 0"#,
        r#"outbox_jobs_queued{kind="kyc_mail"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}
