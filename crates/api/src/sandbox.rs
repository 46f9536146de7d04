//! The pages behind the sandbox KYC provider's links, so the whole flow can be followed
//! offline: `/sandbox/kyc/{id}` shows where the verification stands and offers *Approve*,
//! *Reject* (with a reason) and *Ask for more information*; `/sandbox/tos/{id}` offers
//! *Accept*. Each is a plain HTML form (no JavaScript) posting back to the page, which
//! answers `303 See Other` to the page again; the decision is a KYC report with source
//! `sandbox`, taking the same path as a provider event. Registered (and documented) only
//! when the sandbox provider is in use.

use actix_web::http::header::{ContentType, CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::http::Uri;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use domain::{
    KycOrder, KycSource, KycState, KycStatus, KycUpdate, ProviderRef, RejectionReason, TosStatus,
};
use ports::{ApplyOutcome, KycLifecycle, SANDBOX_PROVIDER};
use serde::Deserialize;
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::params::path_id;
use crate::routing::{register, Endpoint};

/// The sandbox pages' routes.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/sandbox/kyc/{id}",
        route: || web::route().to(kyc_page),
    },
    Endpoint {
        method: "POST",
        path: "/sandbox/kyc/{id}",
        route: || web::route().to(kyc_decision),
    },
    Endpoint {
        method: "GET",
        path: "/sandbox/tos/{id}",
        route: || web::route().to(tos_page),
    },
    Endpoint {
        method: "POST",
        path: "/sandbox/tos/{id}",
        route: || web::route().to(tos_decision),
    },
    Endpoint {
        method: "GET",
        path: "/sandbox/tos-acceptance",
        route: || web::route().to(tos_acceptance_page),
    },
];

/// Marks an app that serves the sandbox pages (and so documents them).
#[derive(Debug, Clone, Copy)]
pub struct SandboxPages;

/// What a sandbox page or form may answer besides its own outcome (documented).
#[derive(IntoResponses)]
pub enum LinkErrors {
    /// `404`: the id names no page.
    #[response(status = 404, description = "Not a link the sandbox issued")]
    NotALink(ErrorBody),
    /// `500`.
    #[response(status = 500, description = "Unexpected error")]
    Unexpected(ErrorBody),
    /// `503` (no `Retry-After` on these pages).
    #[response(status = 503, description = "The database is unavailable")]
    Unavailable(ErrorBody),
}

/// Registers the sandbox pages. The app must provide `web::Data<dyn ports::KycLifecycle>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(SandboxPages));
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|err, _req| {
                ApiError::invalid_parameter("body", &format!("not a sandbox form: {err}")).into()
            }),
    );
    register(cfg, ENDPOINTS);
}

/// The pages' Content-Security-Policy: nothing loads, and forms post only to this service.
pub const SANDBOX_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Longest rejection reason accepted from the page.
const MAX_REASON_CHARS: usize = 500;

/// What the sandbox KYC page can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KycDecision {
    /// The verification passes: `approved`.
    Approve,
    /// It fails: `rejected`, with `reason`.
    Reject,
    /// More is needed from the customer: `incomplete`.
    RequestInformation,
}

/// The sandbox KYC page's form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct KycDecisionForm {
    /// The decision.
    pub decision: KycDecision,
    /// With `reject`: the reason shown to the customer (default "Rejected in the sandbox").
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// What the sandbox terms page can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TosDecision {
    /// The customer accepts the terms: `approved`.
    Accept,
}

/// The sandbox terms page's form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TosDecisionForm {
    /// The decision.
    pub decision: TosDecision,
}

/// The sandbox link a page id names. Only ids the sandbox could have issued are looked up,
/// so nothing from the URL is echoed unchecked.
fn link(id: &str) -> Result<(Uuid, ProviderRef), ApiError> {
    let page = path_id(id)?;
    Ok((page, ProviderRef::KycLink(ports::sandbox_link_id(page))))
}

async fn current(lifecycle: &dyn KycLifecycle, target: &ProviderRef) -> Result<KycState, ApiError> {
    lifecycle
        .state_of(SANDBOX_PROVIDER, target)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Applies a decision as a sandbox report, then sends the browser back to the page.
async fn decide(
    lifecycle: &dyn KycLifecycle,
    page: Uuid,
    target: ProviderRef,
    kyc_status: Option<KycStatus>,
    tos_status: Option<TosStatus>,
    rejection_reasons: Option<Vec<RejectionReason>>,
) -> Result<HttpResponse, ApiError> {
    let update = KycUpdate {
        source: KycSource::Sandbox,
        event_id: Some(format!("sandbox_{}", Uuid::new_v4().simple())),
        target,
        kyc_status,
        tos_status,
        rejection_reasons,
        provider_customer_id: None,
        order: KycOrder::at(Utc::now()),
    };
    match lifecycle.apply(SANDBOX_PROVIDER, update).await? {
        ApplyOutcome::Unmatched => Err(ApiError::not_found()),
        _ => Ok(HttpResponse::SeeOther()
            // Relative to the form's own URL, so it works behind any prefix or host.
            .insert_header((LOCATION, page.to_string()))
            .finish()),
    }
}

/// The sandbox provider's stand-in for a hosted KYC flow (only with the sandbox provider).
#[utoipa::path(
    get,
    path = "/sandbox/kyc/{id}",
    tag = "sandbox",
    operation_id = "sandbox_kyc_page",
    params(("id" = String, Path, description = "The sandbox link id")),
    responses(
        (status = 200, description = "An HTML page with the decisions", body = String, content_type = "text/html"),
        LinkErrors,
    )
)]
pub async fn kyc_page(
    id: web::Path<String>,
    lifecycle: web::Data<dyn KycLifecycle>,
) -> Result<HttpResponse, ApiError> {
    let (page, target) = link(&id)?;
    let state = current(lifecycle.as_ref(), &target).await?;
    let forms = format!(
        "<form method=\"post\" action=\"{page}\"><input type=\"hidden\" name=\"decision\" value=\"approve\">\
         <button type=\"submit\">Approve</button></form>\
         <form method=\"post\" action=\"{page}\"><input type=\"hidden\" name=\"decision\" value=\"reject\">\
         <label>Reason shown to the customer <input name=\"reason\" maxlength=\"{MAX_REASON_CHARS}\" \
         value=\"Cannot validate ID\"></label> <button type=\"submit\">Reject</button></form>\
         <form method=\"post\" action=\"{page}\"><input type=\"hidden\" name=\"decision\" value=\"request_information\">\
         <button type=\"submit\">Ask for more information</button></form>"
    );
    Ok(html(
        "Sandbox identity verification",
        "This page stands in for the KYC provider's hosted identity-verification flow. \
         With a real provider (KYC_PROVIDER=bridge) the customer would upload an ID document \
         and a selfie here; in the sandbox, you decide the outcome.",
        page,
        &state,
        &forms,
    ))
}

/// Decides the sandbox verification: `approve`, `reject` (with `reason`) or
/// `request_information`; answers `303` back to the page.
#[utoipa::path(
    post,
    path = "/sandbox/kyc/{id}",
    tag = "sandbox",
    operation_id = "sandbox_kyc_decision",
    params(("id" = String, Path, description = "The sandbox link id")),
    request_body(content = KycDecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Decided; back to the page",
            headers(("Location" = String, description = "The page, relative to this URL"))),
        (status = 400, description = "Not a sandbox form, or a bad reason", body = ErrorBody),
        LinkErrors,
    )
)]
pub async fn kyc_decision(
    id: web::Path<String>,
    form: web::Form<KycDecisionForm>,
    lifecycle: web::Data<dyn KycLifecycle>,
) -> Result<HttpResponse, ApiError> {
    let (page, target) = link(&id)?;
    let form = form.into_inner();
    let (status, reasons) = match form.decision {
        KycDecision::Approve => (KycStatus::Approved, Vec::new()),
        KycDecision::RequestInformation => (KycStatus::Incomplete, Vec::new()),
        KycDecision::Reject => {
            let reason = form
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("Rejected in the sandbox");
            if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
                return Err(ApiError::invalid_parameter(
                    "reason",
                    "must be at most 500 characters, without control characters",
                ));
            }
            let reason = RejectionReason {
                reason: reason.to_owned(),
                developer_reason: Some("Rejected on the sandbox page".into()),
                created_at: Utc::now(),
            };
            (KycStatus::Rejected, vec![reason])
        }
    };
    decide(
        lifecycle.as_ref(),
        page,
        target,
        Some(status),
        None,
        Some(reasons),
    )
    .await
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
        (status = 200, description = "An HTML page with the decision", body = String, content_type = "text/html"),
        LinkErrors,
    )
)]
pub async fn tos_page(
    id: web::Path<String>,
    lifecycle: web::Data<dyn KycLifecycle>,
) -> Result<HttpResponse, ApiError> {
    let (page, target) = link(&id)?;
    let state = current(lifecycle.as_ref(), &target).await?;
    let forms = format!(
        "<form method=\"post\" action=\"{page}\"><input type=\"hidden\" name=\"decision\" value=\"accept\">\
         <button type=\"submit\">Accept</button></form>"
    );
    Ok(html(
        "Sandbox terms of service",
        "This page stands in for the KYC provider's terms-of-service acceptance page. With a \
         real provider the customer would accept the provider's terms here.",
        page,
        &state,
        &forms,
    ))
}

/// Accepts the sandbox terms of service; answers `303` back to the page.
#[utoipa::path(
    post,
    path = "/sandbox/tos/{id}",
    tag = "sandbox",
    operation_id = "sandbox_tos_decision",
    params(("id" = String, Path, description = "The sandbox link id")),
    request_body(content = TosDecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Accepted; back to the page",
            headers(("Location" = String, description = "The page, relative to this URL"))),
        (status = 400, description = "Not a sandbox form", body = ErrorBody),
        LinkErrors,
    )
)]
pub async fn tos_decision(
    id: web::Path<String>,
    form: web::Form<TosDecisionForm>,
    lifecycle: web::Data<dyn KycLifecycle>,
) -> Result<HttpResponse, ApiError> {
    let (page, target) = link(&id)?;
    let TosDecision::Accept = form.into_inner().decision;
    decide(
        lifecycle.as_ref(),
        page,
        target,
        None,
        Some(TosStatus::Approved),
        None,
    )
    .await
}

/// A sandbox page: only fixed text, the parsed page id and the statuses' own words go in,
/// so nothing needs escaping.
fn html(title: &str, text: &str, page: Uuid, state: &KycState, forms: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p>\
         <p>Identity verification: <strong>{kyc}</strong>. Terms of service: <strong>{tos}</strong>.</p>\
         {forms}<p>Sandbox link <code>{page}</code>. Nothing is verified in the sandbox.</p></body></html>",
        kyc = state.kyc_status,
        tos = state.tos_status,
    );
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header((CONTENT_SECURITY_POLICY, SANDBOX_CONTENT_SECURITY_POLICY))
        .body(body)
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
