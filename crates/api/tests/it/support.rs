//! Shared test support: tokens, a customer, mocked ports with safe defaults, and one
//! app instance per call with the real routes, extractors and error mapping.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use api::kyc::{KycUploadLimits, TosLinks, TosStateKey};
use api::sessions::{LoginThrottle, ThrottleSettings};
use api::{JwtKeys, JwtSettings};
use chrono::{TimeZone, Utc};
use domain::{
    AccountId, Customer, CustomerId, KycLink, KycMailStatus, KycOrder, KycState, KycStatus,
    NewCustomer,
};
use ports::{
    AccountStatus, Authenticate, CreateCustomer, CreateCustomerError, DeleteCustomer, Idempotency,
    IdempotencyPolicy, KycLifecycle, MockAccountStatus, MockAuthenticate, MockCreateCustomer,
    MockDeleteCustomer, MockIdempotencyStore, MockKycLifecycle, MockProviderEventVerifier,
    MockReadCustomers, MockReadKyc, MockStoreHealth, MockSubmitKyc, MockTermsOfService,
    MockUpdateCustomer, ProviderEventVerifier, ReadCustomers, ReadKyc, StoreHealth, SubmitKyc,
    TermsOfService, UpdateCustomer,
};
use serde_json::{json, Value};
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

pub const ISSUER: &str = "customer-onboarding";
pub const AUDIENCE: &str = "customer-onboarding-api";

pub fn settings(secret: &[u8]) -> JwtSettings {
    JwtSettings {
        secret: secret.to_vec(),
        leeway: Duration::ZERO,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ttl: Duration::from_secs(600),
    }
}

pub fn keys_with(secret: &[u8]) -> JwtKeys {
    JwtKeys::new(&settings(secret)).unwrap()
}

pub fn account() -> AccountId {
    AccountId(Uuid::from_u128(0x2da8_59f2_9764_48e6_92e6_dd9f_6747_801b))
}

pub fn token() -> String {
    keys_with(SECRET)
        .issue(account(), Duration::from_secs(600))
        .unwrap()
}

pub fn seed_body() -> Value {
    api::examples::seed_request_example()
}

/// The seed example as the domain's input.
pub fn seed_body_input() -> NewCustomer {
    api::customers::CreateCustomerBody::from_json(seed_body())
        .unwrap()
        .try_into_domain()
        .unwrap()
}

pub fn customer_from(input: NewCustomer) -> Customer {
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
            provider_customer_id: Some("7d5b9315-796e-4d4d-b771-1ee5997e4abf".into()),
            persona_inquiry_type: Some("gov_id_db".into()),
        },
        kyc_state: KycState {
            kyc_status: KycStatus::Approved,
            ..KycState::not_started()
        },
        kyc_as_of: KycOrder::at(seed_created_at()),
        last_synced_at: None,
        version: 1,
        created_at: seed_created_at(),
        updated_at: None,
    }
}

/// The seed document's `created_at`.
pub fn seed_created_at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 12, 1, 18, 46, 15).unwrap() + chrono::TimeDelta::milliseconds(392)
}

/// A use case that must not be reached.
pub fn unreachable_use_case() -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer().never();
    mock
}

pub fn failing_use_case(error: fn() -> CreateCustomerError) -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .returning(move |_, _| Err(error()));
    mock
}

pub fn succeeding_use_case() -> MockCreateCustomer {
    let mut mock = MockCreateCustomer::new();
    mock.expect_create_customer()
        .times(1)
        .returning(|_, input| Ok(customer_from(input)));
    mock
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    /// The body as sent, byte for byte.
    pub bytes: Vec<u8>,
}

/// Every port the routes use; each defaults to "must not be called", except that
/// every account is active.
pub struct Ports {
    pub create: MockCreateCustomer,
    pub read: MockReadCustomers,
    pub update: MockUpdateCustomer,
    pub delete: MockDeleteCustomer,
    pub auth: MockAuthenticate,
    pub status: MockAccountStatus,
    pub health: MockStoreHealth,
    pub throttle: ThrottleSettings,
    /// The key store: by default, no call is expected.
    pub idempotency: MockIdempotencyStore,
    /// `IDEMPOTENCY_KEY_REQUIRED`.
    pub key_required: bool,
    pub read_kyc: MockReadKyc,
    pub lifecycle: MockKycLifecycle,
    /// Bridge's webhooks are on exactly when there is a verifier.
    pub verifier: Option<MockProviderEventVerifier>,
    /// Whether the sandbox pages are registered.
    pub sandbox: bool,
    pub submit: MockSubmitKyc,
    pub terms: MockTermsOfService,
    pub upload_limits: KycUploadLimits,
}

impl Ports {
    pub fn new() -> Self {
        let mut read = MockReadCustomers::new();
        read.expect_get_customer().never();
        read.expect_list_customers().never();
        let mut update = MockUpdateCustomer::new();
        update.expect_update_customer().never();
        let mut delete = MockDeleteCustomer::new();
        delete.expect_delete_customer().never();
        let mut auth = MockAuthenticate::new();
        auth.expect_login().never();
        let mut status = MockAccountStatus::new();
        status.expect_is_active().returning(|_| Ok(true));
        let mut health = MockStoreHealth::new();
        health.expect_readiness().never();
        health.expect_outbox_backlog().never();
        health.expect_outbox_backlogs().never();
        health.expect_pool_state().never();
        let mut read_kyc = MockReadKyc::new();
        read_kyc.expect_kyc_overview().never();
        let mut lifecycle = MockKycLifecycle::new();
        lifecycle.expect_apply().never();
        lifecycle.expect_state_of().never();
        let mut submit = MockSubmitKyc::new();
        submit.expect_submit_kyc().never();
        submit.expect_list_submissions().never();
        let mut terms = MockTermsOfService::new();
        terms.expect_tos_link().never();
        terms.expect_accept_terms().never();
        Self {
            create: unreachable_use_case(),
            read,
            update,
            delete,
            auth,
            status,
            health,
            throttle: ThrottleSettings::default(),
            idempotency: MockIdempotencyStore::new(),
            key_required: false,
            read_kyc,
            lifecycle,
            verifier: None,
            sandbox: false,
            submit,
            terms,
            upload_limits: KycUploadLimits::new(1024 * 1024, 4, Duration::from_secs(5)),
        }
    }

    pub fn with_create(create: MockCreateCustomer) -> Self {
        Self {
            create,
            ..Self::new()
        }
    }
}

pub async fn call(ports: Ports, request: test::TestRequest) -> Reply {
    call_all(ports, vec![request]).await.pop().unwrap()
}

/// The key of terms-of-service states in the test app.
pub fn tos_key() -> TosStateKey {
    TosStateKey::derive(SECRET).unwrap()
}

/// Where the test app says it is reachable.
pub const PUBLIC_URL: &str = "https://onboarding.example";

/// The app with every route, over `ports`.
pub async fn app(
    ports: Ports,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    let create: Arc<dyn CreateCustomer> = Arc::new(ports.create);
    let read: Arc<dyn ReadCustomers> = Arc::new(ports.read);
    let update: Arc<dyn UpdateCustomer> = Arc::new(ports.update);
    let delete: Arc<dyn DeleteCustomer> = Arc::new(ports.delete);
    let auth: Arc<dyn Authenticate> = Arc::new(ports.auth);
    let status: Arc<dyn AccountStatus> = Arc::new(ports.status);
    let health: Arc<dyn StoreHealth> = Arc::new(ports.health);
    let read_kyc: Arc<dyn ReadKyc> = Arc::new(ports.read_kyc);
    let lifecycle: Arc<dyn KycLifecycle> = Arc::new(ports.lifecycle);
    let verifier = ports
        .verifier
        .map(|v| web::Data::from(Arc::new(v) as Arc<dyn ProviderEventVerifier>));
    let sandbox = ports.sandbox;
    let submit: Arc<dyn SubmitKyc> = Arc::new(ports.submit);
    let terms: Arc<dyn TermsOfService> = Arc::new(ports.terms);
    let metrics = api::ops::Metrics::new(prometheus::Registry::new()).unwrap();
    let idempotency = Idempotency::new(
        Arc::new(ports.idempotency),
        IdempotencyPolicy {
            ttl: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            key_required: ports.key_required,
        },
    );
    // The service's own load limits (the KYC upload's idle time is enforced by them).
    let limits =
        api::limits::Limits::new(Default::default(), &prometheus::Registry::new()).unwrap();
    test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(api::limits::admit))
            .wrap(actix_web::middleware::from_fn(
                api::limits::body_idle_timeout,
            ))
            .wrap(actix_web::middleware::from_fn(api::hardening::guard))
            .wrap(actix_web::middleware::from_fn(api::ops::observe))
            .app_data(web::Data::new(limits))
            .app_data(web::Data::new(metrics))
            .app_data(web::Data::from(health))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(create))
            .app_data(web::Data::from(read))
            .app_data(web::Data::from(update))
            .app_data(web::Data::from(delete))
            .app_data(web::Data::from(auth))
            .app_data(web::Data::from(status))
            .app_data(web::Data::new(LoginThrottle::new(ports.throttle)))
            .app_data(web::Data::new(idempotency))
            .app_data(web::Data::from(read_kyc))
            .app_data(web::Data::from(lifecycle))
            .configure(|cfg| {
                if let Some(verifier) = verifier {
                    cfg.app_data(verifier);
                }
            })
            .app_data(web::Data::from(submit))
            .app_data(web::Data::from(terms))
            .app_data(web::Data::new(ports.upload_limits))
            .app_data(web::Data::new(TosLinks {
                public_url: PUBLIC_URL.into(),
                key: tos_key(),
            }))
            .configure(api::configure)
            .configure(|cfg| {
                if sandbox {
                    api::sandbox::configure(cfg);
                }
            })
            .default_service(web::to(api::not_found)),
    )
    .await
}

/// A reply's parts, the body read as JSON (or as a string when it is not JSON).
pub async fn reply(
    response: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Reply {
        status,
        headers,
        body,
        bytes: bytes.to_vec(),
    }
}

/// Sends `requests` in order to one app instance.
pub async fn call_all(ports: Ports, requests: Vec<test::TestRequest>) -> Vec<Reply> {
    let app = app(ports).await;
    let mut replies = vec![];
    for request in requests {
        let response = test::call_service(&app, request.to_request()).await;
        replies.push(reply(response).await);
    }
    replies
}

pub async fn send(use_case: MockCreateCustomer, request: test::TestRequest) -> Reply {
    call(Ports::with_create(use_case), request).await
}

pub fn post_customer() -> test::TestRequest {
    test::TestRequest::post()
        .uri("/customer")
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

pub async fn post_json(use_case: MockCreateCustomer, body: Value) -> Reply {
    send(use_case, post_customer().set_json(body)).await
}

pub fn assert_error_shape(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.body);
    assert_eq!(reply.body["code"], code, "body: {}", reply.body);
    assert!(reply.body["error"].is_string(), "body: {}", reply.body);
}

pub fn assert_unauthorized(reply: &Reply) {
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

pub fn claims(exp_offset_secs: i64) -> Value {
    json!({
        "sub": account().to_string(),
        "iat": Utc::now().timestamp(),
        "exp": Utc::now().timestamp() + exp_offset_secs,
        "iss": ISSUER,
        "aud": AUDIENCE,
    })
}

pub fn signed(algorithm: jsonwebtoken::Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// A request with `method` to `uri`, with a valid token.
pub fn authorized(method: actix_web::http::Method, uri: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

pub fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}
