//! The pages behind the sandbox KYC provider's links, so the whole flow can be followed
//! offline. Registered only when the sandbox provider is in use.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::error::ApiError;
use crate::routing::{register, Endpoint};

/// The sandbox pages' routes.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/sandbox/kyc/{id}",
        route: || web::route().to(kyc_page),
    },
    Endpoint {
        method: "GET",
        path: "/sandbox/tos/{id}",
        route: || web::route().to(tos_page),
    },
];

/// Registers `GET /sandbox/kyc/{id}` and `GET /sandbox/tos/{id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg, ENDPOINTS);
}

/// The sandbox provider's stand-in for a hosted KYC flow (only with the sandbox provider).
#[utoipa::path(
    get,
    path = "/sandbox/kyc/{id}",
    tag = "sandbox",
    operation_id = "sandbox_kyc_page",
    params(("id" = String, Path, description = "The sandbox link id")),
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "Not a sandbox link", body = crate::error::ErrorBody),
    )
)]
pub async fn kyc_page(id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    page(
        &id,
        "Sandbox identity verification",
        "This page stands in for the KYC provider's hosted identity-verification flow. \
         With a real provider (KYC_PROVIDER=bridge) the customer would upload an ID \
         document and a selfie here.",
    )
}

/// The sandbox provider's stand-in for a terms-of-service page (only with the sandbox
/// provider).
#[utoipa::path(
    get,
    path = "/sandbox/tos/{id}",
    tag = "sandbox",
    operation_id = "sandbox_tos_page",
    params(("id" = String, Path, description = "The sandbox link id")),
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "Not a sandbox link", body = crate::error::ErrorBody),
    )
)]
pub async fn tos_page(id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    page(
        &id,
        "Sandbox terms of service",
        "This page stands in for the KYC provider's terms-of-service acceptance page. \
         With a real provider the customer would accept the provider's terms here.",
    )
}

fn page(id: &str, title: &str, text: &str) -> Result<HttpResponse, ApiError> {
    // Only ids the sandbox issues are served, so nothing from the URL is echoed unchecked.
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p><p>Sandbox link <code>{id}</code>. Nothing is verified \
         in the sandbox.</p></body></html>"
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
