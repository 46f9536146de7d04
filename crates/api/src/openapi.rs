//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types,
//! served at `/openapi.json`, and an interactive reference at `/docs` whose assets are
//! compiled into the binary (Swagger UI 5.35.0, Apache-2.0; nothing is fetched from a CDN).

use std::sync::OnceLock;

use actix_web::http::header::{CacheControl, CacheDirective, ContentType, CONTENT_SECURITY_POLICY};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::customers::{create, data, delete, read, update};
use crate::kyc::overview as customer_kyc;
use crate::kyc::{
    body as kyc_body, business as kyc_business, data as kyc_data, handlers as kyc,
    person as kyc_person,
};
use crate::webhooks::{body as webhook_body, data as webhook_data, deliveries, endpoints};
use crate::{error, ops, provider_events, sandbox, sessions};

// Also named here because callers outside this crate (the server's tests) use this path.
pub use crate::examples::{seed_customer_example, seed_request_example};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Customer onboarding API",
        description = "Registers customers, obtains hosted KYC links from a KYC provider \
                       (Bridge's KYC Links API or the offline sandbox), stores them and e-mails \
                       the links; or takes the customer's KYC data by API. Every error has the \
                       shape `{\"error\", \"code\", \"details\"?}`.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        create::create_customer,
        read::get_customer,
        update::update_customer,
        delete::delete_customer,
        read::list_customers,
        customer_kyc::get_customer_kyc,
        endpoints::create_webhook_endpoint,
        endpoints::list_webhook_endpoints,
        endpoints::get_webhook_endpoint,
        endpoints::update_webhook_endpoint,
        endpoints::delete_webhook_endpoint,
        endpoints::rotate_webhook_endpoint_secret,
        deliveries::list_webhook_deliveries,
        deliveries::retry_webhook_delivery,
        kyc::submit_kyc,
        kyc::create_tos_link,
        kyc::complete_tos,
        sessions::login,
        sessions::refresh,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        openapi_json,
        docs_page,
        docs_initializer,
        docs_script,
        docs_stylesheet,
        provider_events::bridge_webhook,
    ),
    components(schemas(
        create::CreateCustomerBody,
        update::UpdateCustomerBody,
        delete::DeletedResponse,
        data::CustomerData,
        data::CustomerKind,
        data::KycMailState,
        read::ListResponse,
        customer_kyc::KycData,
        customer_kyc::KycHistoryData,
        customer_kyc::WireKycSource,
        provider_events::EventReceived,
        provider_events::EventOutcome,
        webhook_body::CreateEndpointBody,
        webhook_body::UpdateEndpointBody,
        webhook_data::EndpointData,
        webhook_data::WireEventType,
        webhook_data::DeliveryData,
        webhook_data::DeliveryState,
        webhook_data::EndpointListResponse,
        webhook_data::DeliveryListResponse,
        webhook_data::DeletedEndpoint,
        kyc_body::KycSubmissionBody,
        kyc_person::IndividualBody,
        kyc_person::IndividualKind,
        kyc_person::AddressBody,
        kyc_person::IdentityBody,
        kyc_business::BusinessBody,
        kyc_business::BusinessKind,
        kyc_business::AssociatedPersonBody,
        kyc_business::DocumentBody,
        kyc_data::SubmissionData,
        kyc_data::SubmissionOutcomeData,
        kyc_data::IdentitySummaryData,
        kyc_data::DocumentSummaryData,
        kyc_data::TosLinkData,
        sessions::LoginBody,
        sessions::TokenData,
        error::ErrorBody,
        ops::Health,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "customers", description = "Registering, reading, changing and erasing customers"),
        (name = "webhooks", description = "Webhook endpoints: signed events (Standard Webhooks) about the account's customers, and their deliveries"),
        (name = "kyc", description = "KYC by API (the customer's data sent instead of the hosted link) and the terms of service it needs"),
        (name = "auth", description = "Access tokens for accounts"),
        (name = "operations", description = "Health and metrics"),
        (name = "docs", description = "This document and its reference page"),
        (name = "provider events", description = "Events KYC providers send to this service"),
    )
)]
pub struct ApiDoc;

/// The sandbox pages, documented only when the sandbox provider is in use.
#[derive(OpenApi)]
#[openapi(
    paths(
        sandbox::kyc_page,
        sandbox::kyc_decision,
        sandbox::tos_page,
        sandbox::tos_decision,
        sandbox::tos_acceptance_page,
    ),
    components(schemas(
        sandbox::KycDecisionForm,
        sandbox::KycDecision,
        sandbox::TosDecisionForm,
        sandbox::TosDecision,
    )),
    tags(
        (name = "sandbox", description = "Pages behind the sandbox provider's links (KYC_PROVIDER=sandbox only)"),
    )
)]
pub struct SandboxDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /auth/login (HS256 JWT; `sub` is the account id)",
                    ))
                    .build(),
            ),
        );
    }
}

fn render(document: utoipa::openapi::OpenApi) -> String {
    document
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"could not render the document: {e}\"}}"))
}

/// The document as JSON, built once: the API without the sandbox pages.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| render(ApiDoc::openapi()))
}

/// The document as JSON with the sandbox pages, built once.
pub fn document_json_with_sandbox() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| render(ApiDoc::openapi().merge_from(SandboxDoc::openapi())))
}

fn cached(content_type: ContentType, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(86_400),
        ]))
        .body(body)
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    operation_id = "openapi_document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object,
        content_type = "application/json"))
)]
pub async fn openapi_json(req: HttpRequest) -> HttpResponse {
    // The sandbox pages are documented exactly when they are served.
    let with_sandbox = req.app_data::<web::Data<sandbox::SandboxPages>>().is_some();
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(if with_sandbox {
            document_json_with_sandbox()
        } else {
            document_json()
        })
}

const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Customer onboarding API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"##;

// A file rather than an inline script, so that the page's policy can forbid inline scripts.
const DOCS_INITIALIZER: &str = r##"window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  persistAuthorization: true
});
"##;

/// The reference page's Content-Security-Policy: its script, stylesheet and document come
/// from this server only, no inline script runs, and no other site may frame it. Swagger UI's
/// stylesheet draws its icons as `data:` images; its React components set styles through the
/// DOM, which `style-src` does not govern, so no `'unsafe-inline'` is needed.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The interactive API reference (Swagger UI, served from this binary).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    operation_id = "docs_page",
    responses((status = 200, description = "An HTML page", body = String, content_type = "text/html"))
)]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header((CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY))
        .body(DOCS_PAGE)
}

/// The script that starts Swagger UI on the reference page.
#[utoipa::path(
    get,
    path = "/docs/swagger-initializer.js",
    tag = "docs",
    operation_id = "docs_initializer",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"))
)]
pub async fn docs_initializer() -> HttpResponse {
    cached(ContentType(mime_javascript()), DOCS_INITIALIZER.as_bytes())
}

/// Swagger UI's script, bundled into the binary.
#[utoipa::path(
    get,
    path = "/docs/swagger-ui-bundle.js",
    tag = "docs",
    operation_id = "docs_script",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"))
)]
pub async fn docs_script() -> HttpResponse {
    cached(
        ContentType(mime_javascript()),
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    )
}

/// Swagger UI's stylesheet, bundled into the binary.
#[utoipa::path(
    get,
    path = "/docs/swagger-ui.css",
    tag = "docs",
    operation_id = "docs_stylesheet",
    responses((status = 200, description = "CSS", body = String, content_type = "text/css"))
)]
pub async fn docs_stylesheet() -> HttpResponse {
    cached(
        ContentType(mime_css()),
        include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    )
}

fn mime_javascript() -> actix_web::mime::Mime {
    "text/javascript; charset=utf-8"
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_JAVASCRIPT)
}

fn mime_css() -> actix_web::mime::Mime {
    actix_web::mime::TEXT_CSS_UTF_8
}
