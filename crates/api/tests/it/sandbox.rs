//! The sandbox pages with a mocked lifecycle: pages, forms, redirects, headers.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use domain::{KycSource, KycState, KycStatus, ProviderRef, TosStatus};
use ports::{ApplyOutcome, MockKycLifecycle};
use uuid::Uuid;

use crate::support::{assert_error_shape, call, Ports};

const PAGE: &str = "fe5e6e30-a56e-517d-9f0c-4c80a8e56fe4";

fn link() -> ProviderRef {
    ProviderRef::KycLink(ports::sandbox_link_id(Uuid::parse_str(PAGE).unwrap()))
}

fn sandbox(lifecycle: MockKycLifecycle) -> Ports {
    Ports {
        lifecycle,
        sandbox: true,
        ..Ports::new()
    }
}

fn showing(state: Option<KycState>) -> MockKycLifecycle {
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle
        .expect_state_of()
        .withf(|provider, target| provider == "sandbox" && *target == link())
        .times(1)
        .returning(move |_, _| Ok(state.clone()));
    lifecycle
}

fn form(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn the_kyc_page_shows_the_state_and_three_forms_that_need_no_script() {
    let reply = call(
        sandbox(showing(Some(KycState::not_started()))),
        TestRequest::get().uri(&format!("/sandbox/kyc/{PAGE}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = reply.body.as_str().unwrap();
    assert!(html.contains("<strong>not_started</strong>"), "{html}");
    assert_eq!(html.matches("<form method=\"post\"").count(), 3, "{html}");
    for decision in ["approve", "reject", "request_information"] {
        assert!(
            html.contains(&format!("value=\"{decision}\"")),
            "{decision}"
        );
    }
    assert!(html.contains("Ask for more information"));
    assert!(!html.contains("<script"));
    let policy = reply.headers.get("content-security-policy").unwrap();
    assert_eq!(policy, api::sandbox::SANDBOX_CONTENT_SECURITY_POLICY);
    assert!(policy.to_str().unwrap().contains("form-action 'self'"));
    assert_eq!(reply.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
    assert!(reply
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[actix_web::test]
async fn the_terms_page_offers_accept() {
    let reply = call(
        sandbox(showing(Some(KycState::not_started()))),
        TestRequest::get().uri(&format!("/sandbox/tos/{PAGE}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = reply.body.as_str().unwrap();
    assert!(
        html.contains("value=\"accept\"") && html.contains("Accept"),
        "{html}"
    );
}

#[actix_web::test]
async fn pages_of_links_no_customer_has_are_404() {
    let reply = call(
        sandbox(showing(None)),
        TestRequest::get().uri(&format!("/sandbox/kyc/{PAGE}")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    let reply = call(
        sandbox(MockKycLifecycle::new()),
        TestRequest::get().uri("/sandbox/tos/%3Cscript%3E"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

fn deciding(check: fn(&domain::KycUpdate) -> bool, outcome: ApplyOutcome) -> MockKycLifecycle {
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle
        .expect_apply()
        .withf(move |provider, update| {
            provider == "sandbox"
                && update.source == KycSource::Sandbox
                && update.target == link()
                && update
                    .event_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("sandbox_"))
                && check(update)
        })
        .times(1)
        .returning(move |_, _| Ok(outcome));
    lifecycle
}

#[actix_web::test]
async fn approving_applies_a_sandbox_report_and_sends_the_browser_back() {
    let reply = call(
        sandbox(deciding(
            |u| {
                u.kyc_status == Some(KycStatus::Approved)
                    && u.rejection_reasons == Some(vec![])
                    && u.tos_status.is_none()
            },
            ApplyOutcome::Applied,
        )),
        form(&format!("/sandbox/kyc/{PAGE}"), "decision=approve"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers.get("location").unwrap(), PAGE);
}

#[actix_web::test]
async fn rejecting_carries_the_reason_and_asking_for_more_makes_it_incomplete() {
    let reply = call(
        sandbox(deciding(
            |u| {
                u.kyc_status == Some(KycStatus::Rejected)
                    && u.rejection_reasons
                        .as_ref()
                        .is_some_and(|r| r.len() == 1 && r[0].reason == "Blurry photo & glare")
            },
            ApplyOutcome::Applied,
        )),
        form(
            &format!("/sandbox/kyc/{PAGE}"),
            "decision=reject&reason=+Blurry+photo+%26+glare+",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let reply = call(
        sandbox(deciding(
            |u| {
                u.kyc_status == Some(KycStatus::Rejected)
                    && u.rejection_reasons
                        .as_ref()
                        .is_some_and(|r| r[0].reason == "Rejected in the sandbox")
            },
            ApplyOutcome::Applied,
        )),
        form(&format!("/sandbox/kyc/{PAGE}"), "decision=reject&reason="),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let reply = call(
        sandbox(deciding(
            |u| u.kyc_status == Some(KycStatus::Incomplete),
            ApplyOutcome::Unchanged,
        )),
        form(
            &format!("/sandbox/kyc/{PAGE}"),
            "decision=request_information",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn accepting_the_terms_reports_the_terms_only() {
    let reply = call(
        sandbox(deciding(
            |u| u.tos_status == Some(TosStatus::Approved) && u.kyc_status.is_none(),
            ApplyOutcome::Applied,
        )),
        form(&format!("/sandbox/tos/{PAGE}"), "decision=accept"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn bad_forms_are_400_and_unknown_links_404() {
    for (path, body) in [
        ("kyc", "decision=maybe"),
        ("kyc", ""),
        ("tos", "decision=approve"),
        (
            "kyc",
            &format!("decision=reject&reason={}", "x".repeat(501)),
        ),
        ("kyc", "decision=reject&reason=a%0Ab"),
    ] {
        let mut lifecycle = MockKycLifecycle::new();
        lifecycle.expect_apply().never();
        let reply = call(
            sandbox(lifecycle),
            form(&format!("/sandbox/{path}/{PAGE}"), body),
        )
        .await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let reply = call(
        sandbox(deciding(|_| true, ApplyOutcome::Unmatched)),
        form(&format!("/sandbox/kyc/{PAGE}"), "decision=approve"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn without_the_sandbox_provider_there_are_no_sandbox_pages() {
    let reply = call(
        Ports::new(),
        TestRequest::get().uri(&format!("/sandbox/kyc/{PAGE}")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}
