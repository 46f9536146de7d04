//! The harness of the webhook routes' tests (`webhook_endpoints`, `webhook_deliveries`,
//! `idempotency::endpoints`): an app with the webhook use cases mocked, and its requests.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{test, web, App};
use domain::{EndpointId, UrlRules};
use ports::{
    Idempotency, IdempotencyPolicy, ManageDeliveries, ManageWebhookEndpoints, MockAccountStatus,
    MockIdempotencyStore, MockManageDeliveries, MockManageWebhookEndpoints,
};
use serde_json::Value;
use uuid::Uuid;

use crate::support::{keys_with, token, Reply, SECRET};

const ENDPOINT: u128 = 0xe1;

pub fn endpoint_id() -> EndpointId {
    EndpointId(Uuid::from_u128(ENDPOINT))
}

/// A use case that refuses every call but says its URL rules.
pub fn endpoints(allow_http: bool) -> MockManageWebhookEndpoints {
    let mut mock = MockManageWebhookEndpoints::new();
    mock.expect_url_rules()
        .return_const(UrlRules { allow_http });
    mock
}

pub async fn call(
    endpoints: MockManageWebhookEndpoints,
    deliveries: MockManageDeliveries,
    request: test::TestRequest,
) -> Reply {
    // The key store expects nothing: a request without a key never reaches it.
    call_keyed(
        endpoints,
        deliveries,
        keys(MockIdempotencyStore::new(), false),
        request,
    )
    .await
}

/// The idempotency use case over `store`; `required`: `IDEMPOTENCY_KEY_REQUIRED`.
pub fn keys(store: MockIdempotencyStore, required: bool) -> Idempotency {
    Idempotency::new(
        Arc::new(store),
        IdempotencyPolicy {
            ttl: std::time::Duration::from_secs(3600),
            lease: std::time::Duration::from_secs(60),
            key_required: required,
        },
    )
}

/// As [`call`], with the idempotency use case `idempotency`.
pub async fn call_keyed(
    endpoints: MockManageWebhookEndpoints,
    deliveries: MockManageDeliveries,
    idempotency: Idempotency,
    request: test::TestRequest,
) -> Reply {
    let endpoints: Arc<dyn ManageWebhookEndpoints> = Arc::new(endpoints);
    let deliveries: Arc<dyn ManageDeliveries> = Arc::new(deliveries);
    let mut status = MockAccountStatus::new();
    status.expect_is_active().returning(|_| Ok(true));
    let status: Arc<dyn ports::AccountStatus> = Arc::new(status);
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(api::hardening::guard))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(status))
            .app_data(web::Data::from(endpoints))
            .app_data(web::Data::from(deliveries))
            .app_data(web::Data::new(idempotency))
            .configure(api::configure)
            .default_service(web::to(api::not_found)),
    )
    .await;
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        bytes: bytes.to_vec(),
    }
}

pub fn authorised(request: test::TestRequest) -> test::TestRequest {
    request.insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

pub fn path(rest: &str) -> String {
    format!("/webhook-endpoints/{}{rest}", endpoint_id().0)
}
