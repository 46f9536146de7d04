//! The HTTP API: actix-web handlers, the JWT bearer extractor, wire types and the
//! mapping from use-case errors to HTTP statuses.
//!
//! Handlers parse, call a use case, map the result. Nothing more.

pub mod auth;
pub mod customers;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod sandbox;
pub mod sessions;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError, Route};

pub use auth::{AuthenticatedAccount, JwtKeys, JwtSettings};
pub use error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One route: its method, its path template (actix and OpenAPI spell them alike) and
/// its handler. `configure` registers exactly these, and a test checks that the OpenAPI
/// document describes every one of them.
pub struct Endpoint {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, e.g. `/customer/{id}`.
    pub path: &'static str,
    /// Builds the route (without its method guard).
    pub route: fn() -> Route,
}

/// Every route of the API proper.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/customer",
        route: || web::route().to(customers::create_customer),
    },
    Endpoint {
        method: "GET",
        path: "/customer/{id}",
        route: || web::route().to(customers::get_customer),
    },
    Endpoint {
        method: "GET",
        path: "/customers",
        route: || web::route().to(customers::list_customers),
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

/// Registers `endpoints`, each path answering other methods with `405` and `Allow`.
pub fn register(cfg: &mut web::ServiceConfig, endpoints: &'static [Endpoint]) {
    let mut paths: Vec<&'static str> = endpoints.iter().map(|e| e.path).collect();
    paths.dedup();
    for path in paths {
        let here: Vec<&'static Endpoint> = endpoints.iter().filter(|e| e.path == path).collect();
        let allow = here.iter().map(|e| e.method).collect::<Vec<_>>().join(", ");
        let mut resource = web::resource(path);
        for endpoint in here {
            let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::GET);
            resource = resource.route((endpoint.route)().method(method));
        }
        cfg.service(resource.default_service(web::to(move || method_not_allowed(allow.clone()))));
    }
}

/// Registers every API route. The app must provide `web::Data<JwtKeys>` and, as
/// `web::Data<dyn …>`, the `ports` traits `CreateCustomer`, `ReadCustomers`,
/// `Authenticate`, `AccountStatus` and `StoreHealth`, plus `web::Data<sessions::LoginThrottle>`
/// and `web::Data<ops::Metrics>`. Wrap the app in `middleware::from_fn(ops::observe)`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(customers::json_config())
        .app_data(customers::query_config());
    register(cfg, ENDPOINTS);
}

/// The app's default service: a JSON 404 for every unknown path.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    // The path itself is not logged: it may carry personal data.
    ApiError::not_found().error_response()
}

async fn method_not_allowed(allow: String) -> HttpResponse {
    let mut response = ApiError::method_not_allowed().error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}
