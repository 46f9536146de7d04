//! `POST /auth/login` and `GET /auth/refresh-token`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use api::sessions::{LoginThrottle, ThrottleSettings};
use domain::AccountId;
use ports::{Authenticate, CreateCustomer, LoginError, MockAuthenticate};
use serde_json::{json, Value};

use crate::support::{
    account, assert_error_shape, assert_unauthorized, call, claims, keys_with, signed, token,
    unreachable_use_case, Ports, Reply, SECRET,
};

fn login_request(body: Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/auth/login")
        .peer_addr("192.0.2.7:40000".parse().unwrap())
        .set_json(body)
}

fn login_body() -> Value {
    json!({"account_id": account().to_string(), "app_secret": "sk_right"})
}

fn auth_answering(answer: fn() -> Result<AccountId, LoginError>, times: usize) -> MockAuthenticate {
    let mut auth = MockAuthenticate::new();
    auth.expect_login()
        .times(times)
        .returning(move |_, _| answer());
    auth
}

fn assert_token_for_account(reply: &Reply, message: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["status_code"], 200);
    assert_eq!(reply.body["message"], message);
    assert_eq!(reply.body["data"]["token_type"], "bearer");
    assert_eq!(reply.body["data"]["expires_in"], 600);
    let token = reply.body["data"]["access_token"].as_str().unwrap();
    assert_eq!(keys_with(SECRET).verify(token).unwrap(), account());
}

#[actix_web::test]
async fn login_returns_a_token_for_the_account() {
    let mut auth = MockAuthenticate::new();
    auth.expect_login()
        .withf(|id, secret| id == account().to_string() && secret == "sk_right")
        .times(1)
        .returning(|_, _| Ok(account()));
    let ports = Ports {
        auth,
        ..Ports::new()
    };
    let reply = call(ports, login_request(login_body())).await;
    assert_token_for_account(&reply, "Authentication successful");
}

#[actix_web::test]
async fn login_failure_is_401_invalid_credentials() {
    let ports = Ports {
        auth: auth_answering(|| Err(LoginError::InvalidCredentials), 1),
        ..Ports::new()
    };
    let reply = call(ports, login_request(login_body())).await;
    assert_error_shape(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
}

#[actix_web::test]
async fn login_is_refused_with_429_after_repeated_failures_for_one_account() {
    let auth = auth_answering(|| Err(LoginError::InvalidCredentials), 2);
    let throttle = ThrottleSettings {
        per_account: 100,
        per_account_address: 2,
        per_address: 100,
        window: Duration::from_secs(60),
    };
    let create: Arc<dyn CreateCustomer> = Arc::new(unreachable_use_case());
    let auth: Arc<dyn Authenticate> = Arc::new(auth);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(create))
            .app_data(web::Data::from(auth))
            .app_data(web::Data::new(LoginThrottle::new(throttle)))
            .configure(api::configure),
    )
    .await;
    let mut statuses = vec![];
    let mut retry_after = None;
    for _ in 0..3 {
        let response = test::call_service(&app, login_request(login_body()).to_request()).await;
        statuses.push(response.status());
        retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let secs: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
}

#[actix_web::test]
async fn login_returns_503_when_the_account_store_is_unavailable() {
    let ports = Ports {
        auth: auth_answering(
            || Err(LoginError::Unavailable(anyhow::anyhow!("db down"))),
            1,
        ),
        ..Ports::new()
    };
    let reply = call(ports, login_request(login_body())).await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}

#[actix_web::test]
async fn login_returns_400_for_missing_or_unknown_fields() {
    for body in [
        json!({"account_id": account().to_string()}),
        json!({"account_id": account().to_string(), "app_secret": "x", "password": "y"}),
        json!({"account_id": 7, "app_secret": "x"}),
    ] {
        let reply = call(Ports::new(), login_request(body)).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[actix_web::test]
async fn refresh_returns_a_fresh_token_for_the_same_account() {
    let request = test::TestRequest::get()
        .uri("/auth/refresh-token")
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())));
    let reply = call(Ports::new(), request).await;
    assert_token_for_account(&reply, "Token refreshed");
}

#[actix_web::test]
async fn refresh_without_a_valid_token_is_401() {
    let reply = call(
        Ports::new(),
        test::TestRequest::get().uri("/auth/refresh-token"),
    )
    .await;
    assert_unauthorized(&reply);
    let expired = signed(jsonwebtoken::Algorithm::HS256, &claims(-120), SECRET);
    let request = test::TestRequest::get()
        .uri("/auth/refresh-token")
        .insert_header((header::AUTHORIZATION, format!("Bearer {expired}")));
    assert_unauthorized(&call(Ports::new(), request).await);
}
