//! Handler tests: the real routes, extractors and error mapping, over a mocked use case.

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use api::sessions::{LoginThrottle, ThrottleSettings};
use api::{JwtKeys, JwtSettings};
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use domain::{AccountId, Customer, CustomerId, CustomerType, KycLink, KycMailStatus, NewCustomer};
use ports::{
    AccountStatus, Authenticate, CreateCustomer, CreateCustomerError, CustomerPage, LoginError,
    MockAccountStatus, MockAuthenticate, MockCreateCustomer, MockReadCustomers, MockStoreHealth,
    ReadCustomers, ReadCustomersError, StoreHealth,
};
use serde_json::{json, Value};
use uuid::Uuid;

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

const ISSUER: &str = "customer-onboarding";
const AUDIENCE: &str = "customer-onboarding-api";

fn settings(secret: &[u8]) -> JwtSettings {
    JwtSettings {
        secret: secret.to_vec(),
        leeway: Duration::ZERO,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ttl: Duration::from_secs(600),
    }
}

fn keys_with(secret: &[u8]) -> JwtKeys {
    JwtKeys::new(&settings(secret)).unwrap()
}

fn account() -> AccountId {
    AccountId(Uuid::from_u128(0x2da8_59f2_9764_48e6_92e6_dd9f_6747_801b))
}

fn token() -> String {
    keys_with(SECRET)
        .issue(account(), Duration::from_secs(600))
        .unwrap()
}

fn seed_body() -> Value {
    api::examples::seed_request_example()
}

fn customer_from(input: NewCustomer) -> Customer {
    Customer {
        id: CustomerId(Uuid::from_u128(0x21fe_7601_3be3_4d15_94c0_a94b_15d8_b872)),
        account_id: account(),
        name: input.name,
        email: input.email,
        phone: input.phone,
        country: input.country,
        customer_type: input.customer_type,
        send_kyc_mail: input.send_kyc_mail,
        kyc_mail_status: KycMailStatus::initial(input.send_kyc_mail),
        kyc_provider: "bridge".into(),
        kyc: KycLink {
            provider_link_id: Some("kyc_link_1".into()),
            kyc_link: "https://bridge.withpersona.com/verify?a=1&b=2".into(),
            tos_link: "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b"
                .into(),
            kyc_status: "approved".into(),
            tos_status: "pending".into(),
            rejection_reasons: vec![],
            provider_customer_id: Some("7d5b9315-796e-4d4d-b771-1ee5997e4abf".into()),
            persona_inquiry_type: Some("gov_id_db".into()),
        },
        created_at: Utc.with_ymd_and_hms(2024, 12, 1, 18, 46, 15).unwrap()
            + chrono::TimeDelta::milliseconds(392),
    }
}

/// A use case that must not be reached.
fn unreachable_use_case() -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer().never();
    mock
}

fn failing_use_case(error: fn() -> CreateCustomerError) -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .returning(move |_, _| Err(error()));
    mock
}

fn succeeding_use_case() -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .returning(|_, input| Ok(customer_from(input)));
    mock
}

struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

/// Every port the routes use; each defaults to "must not be called", except that
/// every account is active.
struct Ports {
    create: MockCreateCustomer,
    read: MockReadCustomers,
    auth: MockAuthenticate,
    status: MockAccountStatus,
    health: MockStoreHealth,
    throttle: ThrottleSettings,
}

impl Ports {
    fn new() -> Self {
        let mut read = MockReadCustomers::new();
        read.expect_get_customer().never();
        read.expect_list_customers().never();
        let mut auth = MockAuthenticate::new();
        auth.expect_login().never();
        let mut status = MockAccountStatus::new();
        status.expect_is_active().returning(|_| Ok(true));
        let mut health = MockStoreHealth::new();
        health.expect_readiness().never();
        health.expect_outbox_backlog().never();
        health.expect_pool_state().never();
        Self {
            create: unreachable_use_case(),
            read,
            auth,
            status,
            health,
            throttle: ThrottleSettings::default(),
        }
    }

    fn with_create(create: MockCreateCustomer) -> Self {
        Self {
            create,
            ..Self::new()
        }
    }
}

async fn call(ports: Ports, request: test::TestRequest) -> Reply {
    call_all(ports, vec![request]).await.pop().unwrap()
}

/// Sends `requests` in order to one app instance.
async fn call_all(ports: Ports, requests: Vec<test::TestRequest>) -> Vec<Reply> {
    let create: Arc<dyn CreateCustomer> = Arc::new(ports.create);
    let read: Arc<dyn ReadCustomers> = Arc::new(ports.read);
    let auth: Arc<dyn Authenticate> = Arc::new(ports.auth);
    let status: Arc<dyn AccountStatus> = Arc::new(ports.status);
    let health: Arc<dyn StoreHealth> = Arc::new(ports.health);
    let metrics = api::ops::Metrics::new(prometheus::Registry::new()).unwrap();
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(api::ops::observe))
            .app_data(web::Data::new(metrics))
            .app_data(web::Data::from(health))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(create))
            .app_data(web::Data::from(read))
            .app_data(web::Data::from(auth))
            .app_data(web::Data::from(status))
            .app_data(web::Data::new(LoginThrottle::new(ports.throttle)))
            .configure(api::configure)
            .default_service(web::to(api::not_found)),
    )
    .await;
    let mut replies = vec![];
    for request in requests {
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        replies.push(Reply {
            status,
            headers,
            body,
        });
    }
    replies
}

async fn send(use_case: MockCreateCustomer, request: test::TestRequest) -> Reply {
    call(Ports::with_create(use_case), request).await
}

fn post_customer() -> test::TestRequest {
    test::TestRequest::post()
        .uri("/customer")
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

async fn post_json(use_case: MockCreateCustomer, body: Value) -> Reply {
    send(use_case, post_customer().set_json(body)).await
}

fn assert_error_shape(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.body["code"], code, "body: {}", reply.body);
    assert!(reply.body["error"].is_string(), "body: {}", reply.body);
}

#[actix_web::test]
async fn create_returns_201_with_every_seed_field() {
    let reply = post_json(succeeding_use_case(), seed_body()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["status_code"], 201);
    assert_eq!(reply.body["message"], "Customer created successfully");
    let data = &reply.body["data"];
    assert_eq!(
        data,
        &json!({
            "id": "21fe7601-3be3-4d15-94c0-a94b15d8b872",
            "full_name": "Emmanuel A Towoju",
            "email": "tbash7676@gmail.com",
            "phone": "+2349039395114",
            "country": "USA",
            "type": "individual",
            "kyc_link": "https://bridge.withpersona.com/verify?a=1&b=2",
            "tos_link": "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b",
            "kyc_status": "approved",
            "rejection_reasons": [],
            "tos_status": "pending",
            "created_at": "2024-12-01T18:46:15.392Z",
            "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf",
            "persona_inquiry_type": "gov_id_db",
            "kyc_mail_status": "queued"
        })
    );
}

#[actix_web::test]
async fn create_passes_the_token_account_and_applies_defaults() {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .withf(|acct, input| {
            *acct == account()
                && input.customer_type == CustomerType::Individual
                && input.send_kyc_mail
                && input.phone.as_str() == "+14155552671"
                && input.country.alpha3() == "NGA"
                && input.name.as_str() == "Ada Lovelace"
        })
        .returning(|_, input| Ok(customer_from(input)));
    let reply = post_json(
        mock,
        json!({
            "customer_name": "  Ada Lovelace ",
            "customer_email": "ada@example.com",
            "customer_phone": "+1 (415) 555-2671",
            "customer_country": "ng"
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[actix_web::test]
async fn create_passes_send_kyc_mail_false_through() {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .withf(|_, input| !input.send_kyc_mail)
        .returning(|_, input| Ok(customer_from(input)));
    let mut body = seed_body();
    body["send_kyc_mail"] = json!(false);
    let reply = post_json(mock, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["data"]["kyc_mail_status"], "not_requested");
}

#[actix_web::test]
async fn create_returns_400_naming_every_bad_field() {
    let reply = post_json(
        unreachable_use_case(),
        json!({
            "customer_name": "",
            "customer_email": "not-an-email",
            "customer_phone": "12345",
            "customer_country": "XYZ",
            "customer_type": "person",
            "send_kyc_mail": "yes"
        }),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.body["error"], "Invalid request");
    let details = reply.body["details"].as_object().unwrap();
    for field in [
        "customer_name",
        "customer_email",
        "customer_phone",
        "customer_country",
        "customer_type",
        "send_kyc_mail",
    ] {
        assert!(
            details[field].is_string(),
            "{field} missing from {details:?}"
        );
    }
}

#[actix_web::test]
async fn create_returns_400_for_an_unknown_field_such_as_a_typo() {
    let mut body = seed_body();
    body["custome_email"] = json!("tbash7676@gmail.com");
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"]["custome_email"].is_string(),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["details"]["custome_email"],
        "is not a known field (expected one of: customer_name, customer_email, \
         customer_phone, customer_country, customer_type, send_kyc_mail)"
    );
}

#[actix_web::test]
async fn create_returns_400_for_missing_null_and_wrongly_typed_fields() {
    let reply = post_json(
        unreachable_use_case(),
        json!({
            "customer_name": null,
            "customer_email": 42,
            "customer_country": ["USA"]
        }),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let details = &reply.body["details"];
    assert_eq!(details["customer_name"], "must not be null");
    assert_eq!(details["customer_email"], "must be a string");
    assert_eq!(details["customer_phone"], "is required");
    assert_eq!(details["customer_country"], "must be a string");
}

#[actix_web::test]
async fn create_returns_400_for_a_body_that_is_not_an_object() {
    let reply = post_json(unreachable_use_case(), json!(["customer"])).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn create_returns_400_for_malformed_json() {
    let request = post_customer()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(r#"{"customer_name": "x",,}"#);
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_json");
}

#[actix_web::test]
async fn create_returns_400_for_an_empty_body() {
    let request = post_customer().insert_header((header::CONTENT_TYPE, "application/json"));
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(reply.body["details"]["body"], "request body is empty");
}

#[actix_web::test]
async fn create_returns_415_for_a_non_json_content_type() {
    let request = post_customer()
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload(seed_body().to_string());
    let reply = send(unreachable_use_case(), request).await;
    assert_error_shape(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[actix_web::test]
async fn create_returns_413_for_a_body_over_64_kib() {
    let mut body = seed_body();
    body["customer_name"] = json!("a".repeat(70 * 1024));
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[actix_web::test]
async fn create_returns_409_when_email_already_exists() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::Duplicate),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::CONFLICT, "customer_exists");
}

#[actix_web::test]
async fn create_returns_422_with_the_providers_message_when_it_rejects() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::KycRejected {
            message: "email domain not allowed".into(),
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::UNPROCESSABLE_ENTITY, "kyc_rejected");
    assert_eq!(
        reply.body["details"]["provider_message"],
        "email domain not allowed"
    );
}

#[actix_web::test]
async fn create_returns_502_when_the_provider_is_unavailable() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::KycUnavailable(anyhow::anyhow!("connection refused to 10.1.2.3"))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_GATEWAY, "kyc_provider_unavailable");
    assert!(!reply.body.to_string().contains("10.1.2.3"));
}

#[actix_web::test]
async fn create_returns_504_when_the_provider_times_out() {
    let reply = post_json(
        failing_use_case(|| CreateCustomerError::KycTimeout),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::GATEWAY_TIMEOUT, "kyc_provider_timeout");
}

#[actix_web::test]
async fn create_returns_503_with_retry_after_when_the_store_is_unavailable() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::StoreUnavailable(anyhow::anyhow!("pool timed out"))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    assert_eq!(reply.headers.get(header::RETRY_AFTER).unwrap(), "1");
}

#[actix_web::test]
async fn create_returns_500_without_revealing_the_cause() {
    let reply = post_json(
        failing_use_case(|| {
            CreateCustomerError::Unexpected(anyhow::anyhow!(
                "password authentication failed for user app"
            ))
        }),
        seed_body(),
    )
    .await;
    assert_error_shape(&reply, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert_eq!(reply.body["error"], "Internal server error");
    assert!(!reply.body.to_string().contains("password"));
}

fn assert_unauthorized(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let challenge = reply
        .headers
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(["unauthorized", "invalid_token"].contains(&reply.body["code"].as_str().unwrap()));
}

async fn post_with_authorization(value: Option<String>) -> Reply {
    let mut request = test::TestRequest::post()
        .uri("/customer")
        .set_json(seed_body());
    if let Some(value) = value {
        request = request.insert_header((header::AUTHORIZATION, value));
    }
    send(unreachable_use_case(), request).await
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims(exp_offset_secs: i64) -> Value {
    json!({
        "sub": account().to_string(),
        "iat": Utc::now().timestamp(),
        "exp": Utc::now().timestamp() + exp_offset_secs,
        "iss": ISSUER,
        "aud": AUDIENCE,
    })
}

fn signed(algorithm: jsonwebtoken::Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[actix_web::test]
async fn create_returns_401_without_a_token() {
    assert_unauthorized(&post_with_authorization(None).await);
}

#[actix_web::test]
async fn create_returns_401_for_a_non_bearer_scheme() {
    assert_unauthorized(&post_with_authorization(Some(format!("Basic {}", token()))).await);
    assert_unauthorized(&post_with_authorization(Some("Bearer ".into())).await);
}

#[actix_web::test]
async fn create_returns_401_for_a_wrong_signature() {
    let forged = signed(
        jsonwebtoken::Algorithm::HS256,
        &claims(600),
        b"another-secret-another-secret-another",
    );
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {forged}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_an_expired_token() {
    let expired = signed(jsonwebtoken::Algorithm::HS256, &claims(-120), SECRET);
    let reply = post_with_authorization(Some(format!("Bearer {expired}"))).await;
    assert_unauthorized(&reply);
    assert_eq!(reply.body["code"], "invalid_token");
}

#[actix_web::test]
async fn create_returns_401_for_a_token_without_exp() {
    let mut c = claims(600);
    c.as_object_mut().unwrap().remove("exp");
    let no_exp = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {no_exp}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_alg_none() {
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(600))
    );
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {unsigned}"))).await);
}

#[actix_web::test]
async fn create_returns_401_for_another_algorithm_with_the_right_secret() {
    let hs512 = signed(jsonwebtoken::Algorithm::HS512, &claims(600), SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {hs512}"))).await);
}

#[actix_web::test]
async fn create_returns_401_when_sub_is_not_an_account_id() {
    let mut c = claims(600);
    c["sub"] = json!("admin");
    let token = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
    assert_unauthorized(&post_with_authorization(Some(format!("Bearer {token}"))).await);
}

#[actix_web::test]
async fn create_checks_the_token_before_the_body() {
    let request = test::TestRequest::post()
        .uri("/customer")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload("not json");
    assert_unauthorized(&send(unreachable_use_case(), request).await);
}

#[actix_web::test]
async fn other_methods_on_customer_return_405_with_allow() {
    let reply = send(
        unreachable_use_case(),
        test::TestRequest::delete().uri("/customer"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "POST");
}

#[actix_web::test]
async fn unknown_routes_return_a_json_404() {
    let reply = send(
        unreachable_use_case(),
        test::TestRequest::get().uri("/nope"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn secrets_under_32_bytes_are_refused() {
    let short = settings(&[b'x'; 31]);
    assert!(JwtKeys::new(&short).is_err());
    assert!(!format!("{short:?}").contains("xxxx"));
}

#[actix_web::test]
async fn create_returns_401_for_a_wrong_issuer_or_audience() {
    for (claim, value) in [("iss", "someone-else"), ("aud", "another-api")] {
        let mut c = claims(600);
        c[claim] = json!(value);
        let token = signed(jsonwebtoken::Algorithm::HS256, &c, SECRET);
        assert_unauthorized(&post_with_authorization(Some(format!("Bearer {token}"))).await);
    }
}

fn status_answering(answer: fn() -> Result<bool, ports::RepositoryError>) -> MockAccountStatus {
    let mut status = MockAccountStatus::new();
    status
        .expect_is_active()
        .withf(|id| *id == account())
        .returning(move |_| answer());
    status
}

#[actix_web::test]
async fn a_token_of_a_disabled_or_unknown_account_is_401() {
    let ports = Ports {
        status: status_answering(|| Ok(false)),
        ..Ports::new()
    };
    let reply = call(ports, post_customer().set_json(seed_body())).await;
    assert_unauthorized(&reply);
    assert_eq!(reply.body["code"], "invalid_token");
}

#[actix_web::test]
async fn a_token_check_that_cannot_reach_the_store_is_503() {
    let ports = Ports {
        status: status_answering(|| {
            Err(ports::RepositoryError::Unavailable(anyhow::anyhow!(
                "pool timed out"
            )))
        }),
        ..Ports::new()
    };
    let reply = call(ports, post_customer().set_json(seed_body())).await;
    assert_error_shape(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
}

// ---- POST /auth/login and GET /auth/refresh-token

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
        per_account: 2,
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

// ---- GET /customer/{id} and GET /customers

fn stored_customer() -> Customer {
    customer_from(
        api::customers::CreateCustomerBody::from_json(seed_body())
            .unwrap()
            .try_into_domain()
            .unwrap(),
    )
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

#[actix_web::test]
async fn get_customer_returns_the_create_shape() {
    let customer = stored_customer();
    let id = customer.id;
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .withf(move |acc, wanted| *acc == account() && *wanted == id)
        .times(1)
        .returning(move |_, _| Ok(Some(stored_customer())));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get(&format!("/customer/{}", id.0))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status_code"], 200);
    assert_eq!(reply.body["data"]["id"], id.0.to_string());
    assert_eq!(reply.body["data"]["email"], "tbash7676@gmail.com");
    assert_eq!(reply.body["data"]["kyc_link"], customer.kyc.kyc_link);
    assert_eq!(reply.body["data"]["created_at"], "2024-12-01T18:46:15.392Z");
}

#[actix_web::test]
async fn get_customer_is_404_for_unknown_or_other_accounts_and_malformed_ids() {
    let mut read = MockReadCustomers::new();
    read.expect_get_customer()
        .times(1)
        .returning(|_, _| Ok(None));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get(&format!("/customer/{}", Uuid::new_v4()))).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    // A malformed id never reaches the use case (its mock refuses every call).
    let reply = call(Ports::new(), get("/customer/not-a-uuid")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn get_customer_requires_a_token() {
    let reply = call(
        Ports::new(),
        test::TestRequest::get().uri(&format!("/customer/{}", Uuid::new_v4())),
    )
    .await;
    assert_unauthorized(&reply);
}

#[actix_web::test]
async fn list_customers_applies_defaults_and_returns_has_more() {
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .withf(|acc, query| {
            *acc == account()
                && query.limit == 20
                && query.starting_after.is_none()
                && query.filter == ports::CustomerFilter::default()
        })
        .times(1)
        .returning(|_, _| {
            Ok(CustomerPage {
                customers: vec![stored_customer()],
                has_more: true,
            })
        });
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(ports, get("/customers")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(reply.body["has_more"], true);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["data"][0]["full_name"], "Emmanuel A Towoju");
}

#[actix_web::test]
async fn list_customers_passes_the_cursor_and_filters() {
    let after = Uuid::new_v4();
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .withf(move |_, query| {
            query.limit == 5
                && query.starting_after == Some(CustomerId(after))
                && query.filter.email.as_deref() == Some("A@Example.com")
                && query.filter.kyc_status.as_deref() == Some("approved")
        })
        .times(1)
        .returning(|_, _| {
            Ok(CustomerPage {
                customers: vec![],
                has_more: false,
            })
        });
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let uri = format!(
        "/customers?limit=5&starting_after={after}&email=A%40Example.com&kyc_status=approved"
    );
    let reply = call(ports, get(&uri)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"], json!([]));
    assert_eq!(reply.body["has_more"], false);
}

#[actix_web::test]
async fn list_customers_names_every_bad_parameter() {
    for (query, fields) in [
        ("limit=0", vec!["limit"]),
        ("limit=101", vec!["limit"]),
        (
            "limit=ten&starting_after=nope",
            vec!["limit", "starting_after"],
        ),
        ("email=", vec!["email"]),
        (
            "email=a%00b%40example.com&kyc_status=%00",
            vec!["email", "kyc_status"],
        ),
    ] {
        let reply = call(Ports::new(), get(&format!("/customers?{query}"))).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        for field in fields {
            assert!(
                reply.body["details"].get(field).is_some(),
                "{query}: {}",
                reply.body
            );
        }
    }
    let reply = call(Ports::new(), get("/customers?colour=red")).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[actix_web::test]
async fn list_customers_rejects_a_cursor_of_another_account() {
    let mut read = MockReadCustomers::new();
    read.expect_list_customers()
        .times(1)
        .returning(|_, _| Err(ReadCustomersError::UnknownCursor));
    let ports = Ports {
        read,
        ..Ports::new()
    };
    let reply = call(
        ports,
        get(&format!("/customers?starting_after={}", Uuid::new_v4())),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(reply.body["details"]["starting_after"].is_string());
}

// ---- /healthz, /readyz, /metrics and request ids

#[actix_web::test]
async fn healthz_answers_ok_without_a_token() {
    let reply = call(Ports::new(), test::TestRequest::get().uri("/healthz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

fn health_answering(readiness: Result<(), String>) -> MockStoreHealth {
    let mut health = MockStoreHealth::new();
    health
        .expect_readiness()
        .times(1)
        .returning(move || readiness.clone());
    health
}

#[actix_web::test]
async fn readyz_follows_the_store() {
    let ports = Ports {
        health: health_answering(Ok(())),
        ..Ports::new()
    };
    let reply = call(ports, test::TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));

    let ports = Ports {
        health: health_answering(Err("database unreachable".into())),
        ..Ports::new()
    };
    let reply = call(ports, test::TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body,
        json!({"status": "unavailable", "reason": "database unreachable"})
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_and_show_pool_and_outbox() {
    let mut health = MockStoreHealth::new();
    health.expect_pool_state().returning(|| ports::PoolState {
        in_use: 2,
        idle: 3,
        waiting: 1,
    });
    health.expect_outbox_backlog().returning(|| {
        Ok(ports::OutboxBacklog {
            queued: 4,
            oldest_age: Some(Duration::from_secs(90)),
        })
    });
    let mut read = MockReadCustomers::new();
    read.expect_get_customer().returning(|_, _| Ok(None));
    let ports = Ports {
        health,
        read,
        ..Ports::with_create(succeeding_use_case())
    };
    let customer = format!("/customer/{}", Uuid::new_v4());
    let replies = call_all(
        ports,
        vec![
            post_customer().set_json(seed_body()),
            get(&customer),
            get(&customer),
            test::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(b"AAAA1").unwrap())
                .uri("/healthz"),
            test::TestRequest::get().uri("/metrics"),
        ],
    )
    .await;
    let text = replies[4].body.as_str().unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="OTHER",route="/healthz",status="405"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("AAAA1"),
        "a client's method name must not become a label"
    );
    assert_eq!(
        replies[4].headers.get(header::CONTENT_TYPE).unwrap(),
        "text/plain; version=0.0.4"
    );
    for line in [
        r#"http_requests_total{method="POST",route="/customer",status="201"} 1"#,
        r#"http_requests_total{method="GET",route="/customer/{id}",status="404"} 2"#,
        r#"http_request_duration_seconds_count{method="POST",route="/customer",status="201"} 1"#,
        "db_pool_connections_in_use 2",
        "db_pool_connections_idle 3",
        "db_pool_waiting 1",
        "kyc_mail_outbox_queued 4",
        "kyc_mail_outbox_oldest_age_seconds 90",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(!text.contains(&customer), "paths must not become labels");
}

#[actix_web::test]
async fn a_request_id_is_returned_taken_from_the_client_when_safe() {
    let reply = call(
        Ports::new(),
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("X-Request-Id", "abc-123.x_y")),
    )
    .await;
    assert_eq!(reply.headers.get("x-request-id").unwrap(), "abc-123.x_y");

    let generated = call(Ports::new(), test::TestRequest::get().uri("/healthz")).await;
    let id = generated
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(Uuid::parse_str(id).is_ok(), "{id}");

    for unsafe_id in ["a b", &"x".repeat(129), "<script>"] {
        let reply = call(
            Ports::new(),
            test::TestRequest::get()
                .uri("/nope")
                .insert_header(("X-Request-Id", unsafe_id)),
        )
        .await;
        let id = reply.headers.get("x-request-id").unwrap().to_str().unwrap();
        assert!(
            Uuid::parse_str(id).is_ok(),
            "{unsafe_id} was echoed as {id}"
        );
    }
}
