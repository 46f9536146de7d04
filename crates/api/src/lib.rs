//! The HTTP API: actix-web handlers, the JWT bearer extractor, wire types and the
//! mapping from use-case errors to HTTP statuses.
//!
//! Handlers parse, call a use case, map the result. Nothing more.

pub mod auth;
pub mod customers;
pub mod envelope;
pub mod error;
pub mod examples;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod routing;
pub mod sandbox;
pub mod sessions;
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
        method: "GET",
        path: "/customers",
        route: || web::route().to(customers::read::list_customers),
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
/// `web::Data<dyn …>`, the `ports` traits `CreateCustomer`, `ReadCustomers`,
/// `Authenticate`, `AccountStatus` and `StoreHealth`, plus `web::Data<sessions::LoginThrottle>`
/// and `web::Data<ops::Metrics>`. Wrap the app in `middleware::from_fn(ops::observe)`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::json_config())
        .app_data(extract::query_config());
    register(cfg, ENDPOINTS);
}

/// The app's default service: a JSON 404 for every unknown path.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    // The path itself is not logged: it may carry personal data.
    ApiError::not_found().error_response()
}
