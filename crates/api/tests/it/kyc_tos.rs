//! `POST /customer/{id}/tos-link` and `GET /tos/complete`: a link whose way back carries a
//! signed, expiring `state`; a missing, forged or expired state stores nothing; a valid
//! one stores the acceptance and shows a page. And the sandbox's stand-in terms page.

use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use chrono::{TimeDelta, Utc};
use domain::CustomerId;
use ports::{CustomerKycError, MockTermsOfService};
use uuid::Uuid;

use crate::kyc_submit::CUSTOMER;
use crate::support::{account, assert_error_shape, call, token, tos_key, Ports, PUBLIC_URL};

fn customer() -> CustomerId {
    CustomerId(Uuid::parse_str(CUSTOMER).unwrap())
}

fn ports_with(terms: MockTermsOfService) -> Ports {
    Ports {
        terms,
        ..Ports::new()
    }
}

fn post_link(id: &str) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/customer/{id}/tos-link"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
}

fn complete(query: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/tos/complete?{query}"))
}

#[actix_web::test]
async fn a_tos_link_sends_the_customer_back_with_a_signed_state() {
    let seen = Arc::new(Mutex::new(String::new()));
    let record = seen.clone();
    let mut terms = MockTermsOfService::new();
    terms.expect_accept_terms().never();
    terms
        .expect_tos_link()
        .times(1)
        .withf(|a, c, _| *a == account() && *c == customer())
        .returning(move |_, _, redirect| {
            *record.lock().unwrap() = redirect.clone();
            Ok("https://dashboard.bridge.xyz/accept-terms-of-service?session_token=1".into())
        });
    let reply = call(ports_with(terms), post_link(CUSTOMER)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["url"],
        "https://dashboard.bridge.xyz/accept-terms-of-service?session_token=1"
    );
    let redirect = seen.lock().unwrap().clone();
    let state = redirect
        .strip_prefix(&format!("{PUBLIC_URL}/tos/complete?state="))
        .unwrap_or_else(|| panic!("{redirect}"));
    assert_eq!(tos_key().verify(state, Utc::now()), Ok(customer()));
    assert!(tos_key()
        .verify(state, Utc::now() + TimeDelta::hours(25))
        .is_err());
}

/// A use-case error and the status and code it is answered with.
type Outcome = (fn() -> CustomerKycError, StatusCode, &'static str);

#[actix_web::test]
async fn a_tos_link_for_no_customer_of_the_account_or_a_failing_provider_is_an_error() {
    let cases: Vec<Outcome> = vec![
        (
            || CustomerKycError::NotFound,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            || CustomerKycError::KycRejected {
                message: "no".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "kyc_rejected",
        ),
        (
            || CustomerKycError::KycTimeout,
            StatusCode::GATEWAY_TIMEOUT,
            "kyc_provider_timeout",
        ),
        (
            || CustomerKycError::KycUnavailable(anyhow::anyhow!("down")),
            StatusCode::BAD_GATEWAY,
            "kyc_provider_unavailable",
        ),
    ];
    for (error, status, code) in cases {
        let mut terms = MockTermsOfService::new();
        terms
            .expect_tos_link()
            .times(1)
            .returning(move |_, _, _| Err(error()));
        assert_error_shape(
            &call(ports_with(terms), post_link(CUSTOMER)).await,
            status,
            code,
        );
    }
    let reply = call(Ports::new(), post_link("nope")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
    let reply = call(
        Ports::new(),
        TestRequest::post().uri(&format!("/customer/{CUSTOMER}/tos-link")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_missing_forged_or_expired_state_is_400_and_nothing_is_stored() {
    let now = Utc::now();
    let valid = tos_key().sign(customer(), now + TimeDelta::hours(24));
    let expired = tos_key().sign(customer(), now - TimeDelta::seconds(1));
    let foreign = api::kyc::TosStateKey::derive(b"some-other-secret-some-other-secret!")
        .unwrap()
        .sign(customer(), now + TimeDelta::hours(24));
    let other = CustomerId(Uuid::from_u128(77)).0.simple().to_string();
    let moved = format!("{other}{}", &valid[32..]);
    for (query, field) in [
        ("signed_agreement_id=agr-1".to_owned(), "state"),
        (
            format!("state={expired}&signed_agreement_id=agr-1"),
            "state",
        ),
        (
            format!("state={foreign}&signed_agreement_id=agr-1"),
            "state",
        ),
        (format!("state={moved}&signed_agreement_id=agr-1"), "state"),
        (
            "state=garbage&signed_agreement_id=agr-1".to_owned(),
            "state",
        ),
        (format!("state={valid}"), "signed_agreement_id"),
        (
            format!("state={valid}&signed_agreement_id=%3Cscript%3E"),
            "signed_agreement_id",
        ),
    ] {
        let reply = call(Ports::new(), complete(&query)).await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            reply.body["details"][field].is_string(),
            "{query}: {}",
            reply.body
        );
        assert!(
            reply
                .headers
                .get(header::CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{query}"
        );
    }
    let reply = call(
        Ports::new(),
        complete(&format!("state={expired}&signed_agreement_id=a")),
    )
    .await;
    assert!(reply.body["details"]["state"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[actix_web::test]
async fn a_valid_state_stores_the_acceptance_and_shows_a_thank_you_page() {
    let state = tos_key().sign(customer(), Utc::now() + TimeDelta::hours(24));
    let mut terms = MockTermsOfService::new();
    terms
        .expect_accept_terms()
        .times(1)
        .withf(|c, agreement| {
            *c == customer() && agreement.as_str() == "4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53"
        })
        .returning(|_, _| Ok(()));
    let reply = call(
        ports_with(terms),
        complete(&format!(
            "state={state}&signed_agreement_id=4d5d8c45-9feb-422a-bb5e-0fd32e3b3c53&extra=ignored"
        )),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let page = reply.body.as_str().unwrap();
    assert!(page.contains("Thank you"), "{page}");
    assert!(
        !page.contains("4d5d8c45"),
        "the page echoes nothing from the URL"
    );
    let h = |name| {
        reply
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(h(header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(
        h(header::CONTENT_SECURITY_POLICY),
        api::hardening::DEFAULT_CONTENT_SECURITY_POLICY
    );
    assert_eq!(h(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    assert_eq!(h(header::REFERRER_POLICY), "no-referrer");

    let mut terms = MockTermsOfService::new();
    terms
        .expect_accept_terms()
        .returning(|_, _| Err(CustomerKycError::NotFound));
    let reply = call(
        ports_with(terms),
        complete(&format!("state={state}&signed_agreement_id=a")),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn the_sandbox_terms_page_only_ever_sends_back_to_tos_complete() {
    // The sandbox's pages are served only with the sandbox provider.
    let sandbox = || Ports {
        sandbox: true,
        ..Ports::new()
    };
    let reply = call(
        sandbox(),
        TestRequest::get().uri(
            "/sandbox/tos-acceptance?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Ftos%2Fcomplete%3Fstate%3Dabc.1.ff",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let location = reply
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        location.starts_with("/tos/complete?state=abc.1.ff&signed_agreement_id=sandbox_agreement_"),
        "{location}"
    );
    for bad in [
        "",
        "?redirect_uri=https%3A%2F%2Fevil.example%2Fphish",
        "?redirect_uri=%2F%2Fevil.example%2Ftos%2Fcompletely",
        "?redirect_uri=not%20a%20uri",
    ] {
        let reply = call(
            sandbox(),
            TestRequest::get().uri(&format!("/sandbox/tos-acceptance{bad}")),
        )
        .await;
        assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}
