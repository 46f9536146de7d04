//! The HTTP API: actix-web handlers, the JWT bearer extractor, wire types and the
//! mapping from use-case errors to HTTP statuses.
//!
//! Handlers parse, call a use case, map the result. Nothing more.

pub mod auth;
pub mod customers;
pub mod error;
pub mod sandbox;
pub mod sessions;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

pub use auth::{AuthenticatedAccount, JwtKeys, JwtSettings};
pub use error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Registers every API route. The app must provide `web::Data<JwtKeys>` and, as
/// `web::Data<dyn …>`, the `ports` traits `CreateCustomer`, `ReadCustomers`,
/// `Authenticate` and `AccountStatus`, plus `web::Data<sessions::LoginThrottle>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(customers::json_config())
        .app_data(customers::query_config())
        .service(
            web::resource("/customer")
                .route(web::post().to(customers::create_customer))
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(
            web::resource("/customer/{id}")
                .route(web::get().to(customers::get_customer))
                .default_service(web::to(|| method_not_allowed("GET"))),
        )
        .service(
            web::resource("/customers")
                .route(web::get().to(customers::list_customers))
                .default_service(web::to(|| method_not_allowed("GET"))),
        )
        .service(
            web::resource("/auth/login")
                .route(web::post().to(sessions::login))
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(
            web::resource("/auth/refresh-token")
                .route(web::get().to(sessions::refresh))
                .default_service(web::to(|| method_not_allowed("GET"))),
        );
}

/// The app's default service: a JSON 404 for every unknown path.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    tracing::debug!(path = %req.path(), "no such route");
    ApiError::not_found().error_response()
}

async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = ApiError::method_not_allowed().error_response();
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    response
}
