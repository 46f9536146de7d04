//! The KYC provider contract, written once and run against every adapter: Bridge (with a
//! local server that behaves as Bridge documents) and the sandbox.

use std::sync::Arc;

use adapters::bridge::BridgeKycProvider;
use adapters::sandbox::SandboxKycProvider;
use ports::KycProvider;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::bridge::{kyc_link_object, request, settings};

pub async fn issues_a_link_with_kyc_and_tos_urls(provider: Arc<dyn KycProvider>) {
    let link = provider
        .create_kyc_link(&request("customer-a"))
        .await
        .unwrap();
    assert!(
        link.link.kyc_link.starts_with("http"),
        "{}",
        link.link.kyc_link
    );
    assert!(
        link.link.tos_link.starts_with("http"),
        "{}",
        link.link.tos_link
    );
    // The state comes in the service's own vocabulary (the type guarantees a known value);
    // only rejected customers carry reasons.
    assert!(
        link.state.rejection_reasons.is_empty()
            || link.state.kyc_status == domain::KycStatus::Rejected
            || link.state.kyc_status == domain::KycStatus::Approved
    );
}

pub async fn repeating_an_idempotency_key_returns_the_same_link(provider: Arc<dyn KycProvider>) {
    let first = provider
        .create_kyc_link(&request("customer-b"))
        .await
        .unwrap();
    let again = provider
        .create_kyc_link(&request("customer-b"))
        .await
        .unwrap();
    assert_eq!(first, again);
}

pub async fn takes_a_submission_and_names_its_customer(provider: Arc<dyn KycProvider>) {
    let request = ports::KycSubmissionRequest {
        customer_id: domain::CustomerId(uuid::Uuid::from_u128(42)),
        provider_customer_id: None,
        provider_link_id: None,
        email: domain::CustomerEmail::parse("ada@example.com").unwrap(),
        phone: domain::PhoneNumber::parse("+14155552671", None).unwrap(),
        signed_agreement_id: domain::SignedAgreementId::parse("agreement-1").unwrap(),
        submission: testkit::individual_submission(),
    };
    let accepted = provider.submit_kyc(&request).await.unwrap();
    assert!(!accepted.provider_customer_id.is_empty());
    assert_eq!(accepted.state.kyc_status, domain::KycStatus::UnderReview);
}

pub async fn issues_a_tos_link_that_returns_to_the_redirect(provider: Arc<dyn KycProvider>) {
    let link = provider
        .create_tos_link(&ports::TosLinkRequest {
            customer_id: domain::CustomerId(uuid::Uuid::from_u128(42)),
            provider_customer_id: None,
            redirect_uri: "https://svc.example/tos/complete?state=s".into(),
        })
        .await
        .unwrap();
    assert!(link.starts_with("http"), "{link}");
    assert!(
        link.contains("redirect_uri=https%3A%2F%2Fsvc.example%2Ftos%2Fcomplete%3Fstate%3Ds"),
        "{link}"
    );
}

pub async fn has_a_stable_name(provider: Arc<dyn KycProvider>) {
    assert!(["bridge", "sandbox"].contains(&provider.name()));
}

/// Answers like Bridge: one link per idempotency key, the key reflected in the link.
struct IdempotentBridge;

impl Respond for IdempotentBridge {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("Idempotency-Key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut body = kyc_link_object();
        body["id"] = format!("kyc_link_{key}").into();
        body["kyc_link"] = format!("https://kyc.example/verify?ref={key}&env=test").into();
        ResponseTemplate::new(200).set_body_json(body)
    }
}

macro_rules! kyc_contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            kyc_contract!(@cases $make;
                issues_a_link_with_kyc_and_tos_urls,
                repeating_an_idempotency_key_returns_the_same_link,
                takes_a_submission_and_names_its_customer,
                issues_a_tos_link_that_returns_to_the_redirect,
                has_a_stable_name,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (_guard, provider) = $make.await;
                super::$case(provider).await;
            }
        )*
    };
}

async fn bridge() -> (MockServer, Arc<dyn KycProvider>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .and(header_exists("Idempotency-Key"))
        .respond_with(IdempotentBridge)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v0/customers"))
        .and(header_exists("Idempotency-Key"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "id": "cust_1", "status": "under_review", "has_accepted_terms_of_service": true
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v0/customers/tos_links"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "url": "https://dashboard.bridge.xyz/accept-terms-of-service?session_token=1"
        })))
        .mount(&server)
        .await;
    let provider = Arc::new(BridgeKycProvider::new(settings(&server.uri())).unwrap());
    (server, provider)
}

async fn sandbox() -> ((), Arc<dyn KycProvider>) {
    (
        (),
        Arc::new(SandboxKycProvider::new("http://127.0.0.1:8080")),
    )
}

kyc_contract!(on_bridge, bridge());
kyc_contract!(on_sandbox, sandbox());
