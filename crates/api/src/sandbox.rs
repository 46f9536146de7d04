//! The pages behind the sandbox KYC provider's links, so the whole flow can be followed
//! offline. Registered only when the sandbox provider is in use.

use actix_web::http::header::LOCATION;
use actix_web::http::Uri;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
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
    Endpoint {
        method: "GET",
        path: "/sandbox/tos-acceptance",
        route: || web::route().to(tos_acceptance_page),
    },
];

/// Registers `GET /sandbox/kyc/{id}`, `GET /sandbox/tos/{id}` and
/// `GET /sandbox/tos-acceptance`.
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

/// Query of the sandbox's terms-of-service page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TosAcceptanceParams {
    /// Where to send the customer back: this service's `/tos/complete` with its `state`.
    pub redirect_uri: Option<String>,
}

/// The sandbox provider's stand-in for a hosted terms-of-service page (only with the
/// sandbox provider): it accepts at once and sends the customer back to
/// `/tos/complete` with the `state` of `redirect_uri` and a made-up `signed_agreement_id`.
/// Only the path `/tos/complete` of this service is ever redirected to, so the page cannot
/// send anyone elsewhere.
#[utoipa::path(
    get,
    path = "/sandbox/tos-acceptance",
    tag = "sandbox",
    operation_id = "sandbox_tos_acceptance_page",
    params(TosAcceptanceParams),
    responses(
        (status = 303, description = "Accepted: on to /tos/complete",
            headers(("Location" = String, description = "/tos/complete?state=…&signed_agreement_id=…"))),
        (status = 400, description = "No redirect_uri to this service's /tos/complete", body = crate::error::ErrorBody),
    )
)]
pub async fn tos_acceptance_page(
    params: web::Query<TosAcceptanceParams>,
) -> Result<HttpResponse, ApiError> {
    let refused = || {
        ApiError::invalid_parameter(
            "redirect_uri",
            "must be this service's /tos/complete URL (from POST /customer/{id}/tos-link)",
        )
    };
    let redirect: Uri = params
        .into_inner()
        .redirect_uri
        .ok_or_else(refused)?
        .parse()
        .map_err(|_| refused())?;
    if redirect.path() != "/tos/complete" {
        return Err(refused());
    }
    let agreement = format!("sandbox_agreement_{}", Uuid::new_v4().simple());
    let location = match redirect.query() {
        Some(query) => format!("/tos/complete?{query}&signed_agreement_id={agreement}"),
        None => format!("/tos/complete?signed_agreement_id={agreement}"),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish())
}
