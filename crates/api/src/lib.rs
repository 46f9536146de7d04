//! The HTTP API: actix-web handlers, the JWT bearer extractor, wire types and the
//! mapping from use-case errors to HTTP statuses.
//!
//! Handlers parse, call a use case, map the result. Nothing more.

pub mod auth;
pub mod conditional;
pub mod customers;
pub mod envelope;
pub mod error;
pub mod examples;
pub mod extract;
pub mod hardening;
pub mod idempotency;
pub mod kyc;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod presenter;
pub mod provider_events;
pub mod responses;
pub mod routing;
pub mod sandbox;
pub mod sessions;
pub mod strict_json;
pub mod throttle;
pub mod webhooks;
pub mod wire;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

pub use auth::{AuthenticatedAccount, JwtKeys, JwtSettings};
pub use error::ApiError;
pub use extract::MAX_BODY_BYTES;
pub use routing::{register, Endpoint};

/// Every route of the API proper.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/customer",
        route: || web::route().to(customers::create::create_customer),
    },
    Endpoint {
        method: "GET",
        path: "/customer/{id}",
        route: || web::route().to(customers::read::get_customer),
    },
    Endpoint {
        method: "PUT",
        path: "/customer/{id}",
        route: || web::route().to(customers::update::update_customer),
    },
    Endpoint {
        method: "DELETE",
        path: "/customer/{id}",
        route: || web::route().to(customers::delete::delete_customer),
    },
    Endpoint {
        method: "GET",
        path: "/customers",
        route: || web::route().to(customers::read::list_customers),
    },
    // The gate takes a permit, and bounds the body, before the handler's extractors run.
    Endpoint {
        method: "GET",
        path: "/customer/{id}/kyc",
        route: || web::route().to(kyc::overview::get_customer_kyc),
    },
    Endpoint {
        method: "POST",
        path: "/customer/{id}/kyc",
        route: || {
            web::route()
                .to(kyc::submit_kyc)
                .wrap(actix_web::middleware::from_fn(kyc::kyc_upload_gate))
        },
    },
    Endpoint {
        method: "POST",
        path: "/customer/{id}/tos-link",
        route: || web::route().to(kyc::create_tos_link),
    },
    Endpoint {
        method: "GET",
        path: "/tos/complete",
        route: || web::route().to(kyc::complete_tos),
    },
    Endpoint {
        method: "POST",
        path: "/webhooks/bridge",
        route: || web::route().to(provider_events::bridge_webhook),
    },
    Endpoint {
        method: "POST",
        path: "/webhook-endpoints",
        route: || web::route().to(webhooks::endpoints::create_webhook_endpoint),
    },
    Endpoint {
        method: "GET",
        path: "/webhook-endpoints",
        route: || web::route().to(webhooks::endpoints::list_webhook_endpoints),
    },
    Endpoint {
        method: "GET",
        path: "/webhook-endpoints/{id}",
        route: || web::route().to(webhooks::endpoints::get_webhook_endpoint),
    },
    Endpoint {
        method: "PATCH",
        path: "/webhook-endpoints/{id}",
        route: || web::route().to(webhooks::endpoints::update_webhook_endpoint),
    },
    Endpoint {
        method: "DELETE",
        path: "/webhook-endpoints/{id}",
        route: || web::route().to(webhooks::endpoints::delete_webhook_endpoint),
    },
    Endpoint {
        method: "POST",
        path: "/webhook-endpoints/{id}/rotate-secret",
        route: || web::route().to(webhooks::endpoints::rotate_webhook_endpoint_secret),
    },
    Endpoint {
        method: "GET",
        path: "/webhook-endpoints/{id}/deliveries",
        route: || web::route().to(webhooks::deliveries::list_webhook_deliveries),
    },
    Endpoint {
        method: "POST",
        path: "/webhook-endpoints/{id}/deliveries/{delivery_id}/retry",
        route: || web::route().to(webhooks::deliveries::retry_webhook_delivery),
    },
    Endpoint {
        method: "POST",
        path: "/auth/login",
        route: || web::route().to(sessions::login),
    },
    Endpoint {
        method: "GET",
        path: "/auth/refresh-token",
        route: || web::route().to(sessions::refresh),
    },
    Endpoint {
        method: "GET",
        path: "/healthz",
        route: || web::route().to(ops::healthz),
    },
    Endpoint {
        method: "GET",
        path: "/readyz",
        route: || web::route().to(ops::readyz),
    },
    Endpoint {
        method: "GET",
        path: "/metrics",
        route: || web::route().to(ops::metrics),
    },
    Endpoint {
        method: "GET",
        path: "/openapi.json",
        route: || web::route().to(openapi::openapi_json),
    },
    Endpoint {
        method: "GET",
        path: "/docs",
        route: || web::route().to(openapi::docs_page),
    },
    Endpoint {
        method: "GET",
        path: "/docs/swagger-initializer.js",
        route: || web::route().to(openapi::docs_initializer),
    },
    Endpoint {
        method: "GET",
        path: "/docs/swagger-ui-bundle.js",
        route: || web::route().to(openapi::docs_script),
    },
    Endpoint {
        method: "GET",
        path: "/docs/swagger-ui.css",
        route: || web::route().to(openapi::docs_stylesheet),
    },
];

/// Registers every API route. The app must provide `web::Data<JwtKeys>` and, as
/// `web::Data<dyn …>`, the `ports` traits `CreateCustomer`, `ReadCustomers`, `UpdateCustomer`,
/// `DeleteCustomer`, `ReadKyc`, `KycLifecycle`, `Authenticate`, `AccountStatus`, `StoreHealth`,
/// `ManageWebhookEndpoints`, `ManageDeliveries`, `SubmitKyc` and `TermsOfService`, plus
/// `web::Data<sessions::LoginThrottle>`, `web::Data<ops::Metrics>`,
/// `web::Data<ports::Idempotency>`, `web::Data<kyc::KycUploadLimits>` and
/// `web::Data<kyc::TosLinks>`; and, to receive Bridge's webhooks,
/// `web::Data<dyn ports::ProviderEventVerifier>` (without it `POST /webhooks/bridge` answers
/// `404`). Wrap the app in `middleware::from_fn(limits::admit)`, then
/// `limits::body_idle_timeout` (both with `web::Data<limits::Limits>`), then
/// `hardening::guard` and, outermost, `ops::observe`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::query_config());
    register(cfg, ENDPOINTS);
}

/// The app's default service: a JSON 404 for every unknown path.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    // The path itself is not logged: it may carry personal data.
    ApiError::not_found().error_response()
}
