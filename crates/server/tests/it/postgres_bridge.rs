//! The production shape: PostgreSQL storage and the Bridge provider.

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::TestPostgres;
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{bridge_link, count_customers, seed_body, start_on_postgres};

async fn bridge_answering(template: ResponseTemplate) -> MockServer {
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .and(header("Api-Key", "sk-test-key"))
        .respond_with(template)
        .mount(&bridge)
        .await;
    bridge
}

#[tokio::test]
async fn create_customer_returns_201_with_the_seed_fields_and_stores_it() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(ResponseTemplate::new(200).set_body_json(bridge_link())).await;
    let app = start_on_postgres(&db, &bridge).await;

    let (status, body) = app.post_customer(&app.token().await, &seed_body()).await;

    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["status_code"], 201);
    assert_eq!(body["message"], "Customer created successfully");
    let data = &body["data"];
    for field in [
        "id",
        "full_name",
        "email",
        "type",
        "kyc_link",
        "tos_link",
        "kyc_status",
        "rejection_reasons",
        "tos_status",
        "created_at",
        "customer_id",
        "persona_inquiry_type",
        "phone",
        "country",
    ] {
        assert!(data.get(field).is_some(), "{field} missing from {data}");
    }
    assert!(Uuid::parse_str(data["id"].as_str().unwrap()).is_ok());
    assert_eq!(data["kyc_link"], bridge_link()["kyc_link"]);
    assert_eq!(data["customer_id"], "7d5b9315-796e-4d4d-b771-1ee5997e4abf");
    assert!(chrono::DateTime::parse_from_rfc3339(data["created_at"].as_str().unwrap()).is_ok());
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(count_customers(&db), 1);
}

#[tokio::test]
async fn create_returns_409_for_the_same_email_in_another_case_without_a_second_kyc_call() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bridge_link()))
        .expect(1)
        .mount(&bridge)
        .await;
    let app = start_on_postgres(&db, &bridge).await;
    let token = app.token().await;

    assert_eq!(app.post_customer(&token, &seed_body()).await.0, 201);
    let mut shouting = seed_body();
    shouting["customer_email"] = json!("TBASH7676@GMAIL.COM");
    let (status, body) = app.post_customer(&token, &shouting).await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "customer_exists");
    assert_eq!(count_customers(&db), 1);
}

#[tokio::test]
async fn another_account_may_register_the_same_email() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(ResponseTemplate::new(200).set_body_json(bridge_link())).await;
    let app = start_on_postgres(&db, &bridge).await;

    assert_eq!(
        app.post_customer(&app.token().await, &seed_body()).await.0,
        201
    );
    assert_eq!(
        app.post_customer(&app.token().await, &seed_body()).await.0,
        201
    );
    assert_eq!(count_customers(&db), 2);
}

#[tokio::test]
async fn concurrent_identical_requests_create_exactly_one_customer() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(
        ResponseTemplate::new(200)
            .set_body_json(bridge_link())
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    let app = std::sync::Arc::new(start_on_postgres(&db, &bridge).await);
    let token = app.token().await;

    let requests: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move { app.post_customer(&token, &seed_body()).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    statuses.sort_unstable();

    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(count_customers(&db), 1);
}

#[tokio::test]
async fn provider_5xx_returns_502_and_stores_nothing() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(ResponseTemplate::new(500)).await;
    let app = start_on_postgres(&db, &bridge).await;

    let (status, body) = app.post_customer(&app.token().await, &seed_body()).await;

    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "kyc_provider_unavailable");
    assert_eq!(count_customers(&db), 0);
}

#[tokio::test]
async fn provider_timeout_returns_504_within_a_bounded_time_and_stores_nothing() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(
        ResponseTemplate::new(200)
            .set_body_json(bridge_link())
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let app = start_on_postgres(&db, &bridge).await;

    let started = Instant::now();
    let (status, body) = app.post_customer(&app.token().await, &seed_body()).await;

    assert_eq!(status, 504, "{body}");
    assert_eq!(body["code"], "kyc_provider_timeout");
    // Two attempts of 700 ms and a 200 ms pause, with slack for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(count_customers(&db), 0);
}

#[tokio::test]
async fn provider_rejection_returns_422_and_stores_nothing() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_answering(ResponseTemplate::new(400).set_body_json(json!({
        "code": "invalid_parameters",
        "message": "full_name is too long"
    })))
    .await;
    let app = start_on_postgres(&db, &bridge).await;

    let (status, body) = app.post_customer(&app.token().await, &seed_body()).await;

    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"]["provider_message"], "full_name is too long");
    assert_eq!(count_customers(&db), 0);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_a_bearer_challenge() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = MockServer::start().await;
    let app = start_on_postgres(&db, &bridge).await;

    let response = app
        .client
        .post(format!("{}/customer", app.address))
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (status, _) = app.post_customer("not-a-jwt", &seed_body()).await;
    assert_eq!(status, 401);
    assert_eq!(count_customers(&db), 0);
}

#[tokio::test]
async fn start_up_refuses_postgres_without_an_explicit_jwt_secret() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let args = vec!["--database-url".to_owned(), db.url().to_owned()];
    let err = crate::helpers::TestApp::start(&args)
        .await
        .err()
        .expect("start-up should fail");
    assert!(format!("{err:#}").contains("JWT_SECRET"), "{err:#}");
}

#[tokio::test]
async fn start_up_names_an_unreachable_database() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let scratch = testkit::TempSqlite::new();
    let args: Vec<String> = [
        "--data-dir",
        scratch.dir().to_str().unwrap(),
        "--database-url",
        &format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        "--jwt-secret",
        crate::helpers::SECRET,
        "--db-pool-timeout-ms",
        "300",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let err = crate::helpers::TestApp::start(&args)
        .await
        .err()
        .expect("start-up should fail");
    assert!(format!("{err:#}").contains("DATABASE_URL"), "{err:#}");
}
