//! The Bridge adapter's KYC-by-API and terms-of-service calls against a local HTTP server
//! playing Bridge: request shapes and headers, the idempotency key, 4xx mapping to our
//! field paths, 5xx, timeouts.

use std::time::{Duration, Instant};

use adapters::bridge::BridgeKycProvider;
use domain::{CustomerEmail, CustomerId, KycStatus, PhoneNumber, SignedAgreementId, TosStatus};
use ports::{KycProvider, KycProviderError, KycSubmissionRequest, KycSubmitError, TosLinkRequest};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::bridge::settings;

fn customer_id() -> CustomerId {
    CustomerId(uuid::Uuid::from_u128(
        0x21fe_7601_3be3_4d15_94c0_a94b_15d8_b872,
    ))
}

fn submission_request(provider_customer_id: Option<&str>) -> KycSubmissionRequest {
    KycSubmissionRequest {
        customer_id: customer_id(),
        provider_customer_id: provider_customer_id.map(str::to_owned),
        provider_link_id: Some("kyc_link_123".into()),
        email: CustomerEmail::parse("ada@example.com").unwrap(),
        phone: PhoneNumber::parse("+14155552671", None).unwrap(),
        signed_agreement_id: SignedAgreementId::parse("agreement-1").unwrap(),
        submission: testkit::individual_submission(),
    }
}

fn customer_object(status: &str) -> Value {
    json!({
        "id": "cust_1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "status": status,
        "type": "individual",
        "has_accepted_terms_of_service": true,
        "rejection_reasons": [],
        "requirements_due": [],
        "created_at": "2026-11-26T10:00:00.000Z"
    })
}

fn provider(server: &MockServer) -> BridgeKycProvider {
    BridgeKycProvider::new(settings(&server.uri())).unwrap()
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_known_customer_is_updated_with_put_and_no_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v0/customers/cust_1"))
        .and(header("Api-Key", "sk-test-123"))
        .and(header("Content-Type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer_object("under_review")))
        .expect(1)
        .mount(&server)
        .await;

    let accepted = provider(&server)
        .submit_kyc(&submission_request(Some("cust_1")))
        .await
        .unwrap();
    assert_eq!(accepted.provider_customer_id, "cust_1");
    assert_eq!(accepted.state.kyc_status, KycStatus::UnderReview);
    assert_eq!(accepted.state.tos_status, TosStatus::Approved);

    let received = server.received_requests().await.unwrap();
    let put = &received[0];
    assert!(
        put.headers.get("Idempotency-Key").is_none(),
        "Bridge: no key on PUT"
    );
    let body = body_of(put);
    assert!(body.get("type").is_none(), "{body}");
    assert_eq!(body["first_name"], "Ada");
    assert_eq!(body["birth_date"], testkit::SUBMITTED_BIRTH_DATE);
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["phone"], "+14155552671");
    assert_eq!(body["signed_agreement_id"], "agreement-1");
    assert_eq!(body["nationality"], "USA");
    assert_eq!(
        body["residential_address"],
        json!({
            "street_line_1": "1 Market Street",
            "street_line_2": "Suite 100",
            "city": "San Francisco",
            "subdivision": "CA",
            "postal_code": "94105",
            "country": "USA"
        })
    );
    assert_eq!(
        body["identifying_information"][0],
        json!({"type": "ssn", "issuing_country": "USA", "number": testkit::SUBMITTED_SSN})
    );
    let passport = &body["identifying_information"][1];
    assert_eq!(passport["expiration"], "2031-01-31");
    assert!(passport["image_front"]
        .as_str()
        .unwrap()
        .starts_with("data:image/jpeg;base64,/9j/"));
    assert_eq!(body["account_purpose"], "receive_salary");
}

#[tokio::test]
async fn a_new_customer_is_created_with_post_and_a_key_from_the_customer_and_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/customers"))
        .respond_with(ResponseTemplate::new(201).set_body_json(customer_object("not_started")))
        .expect(3)
        .mount(&server)
        .await;
    let bridge = provider(&server);
    let request = submission_request(None);
    let accepted = bridge.submit_kyc(&request).await.unwrap();
    assert_eq!(accepted.state.kyc_status, KycStatus::NotStarted);
    bridge.submit_kyc(&request).await.unwrap();
    let mut other = submission_request(None);
    other.signed_agreement_id = SignedAgreementId::parse("agreement-2").unwrap();
    bridge.submit_kyc(&other).await.unwrap();

    let received = server.received_requests().await.unwrap();
    let keys: Vec<String> = received
        .iter()
        .map(|r| {
            r.headers
                .get("Idempotency-Key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        keys[0].starts_with(&format!("kyc-submission-{}-", customer_id())),
        "{}",
        keys[0]
    );
    assert_eq!(keys[0], keys[1], "the same data gets the same key");
    assert_ne!(keys[0], keys[2], "different data never reuses a key");
    assert_eq!(body_of(&received[0])["type"], "individual");
}

#[tokio::test]
async fn a_refusal_names_our_fields_from_either_of_bridges_error_shapes_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "bad_customer_request",
            "message": "fields missing from customer body.",
            "name": "first_name,ssn"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "invalid",
            "message": "Invalid subdivision",
            "source": {"location": "body", "key": "residential_address.subdivision, state"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let bridge = provider(&server);

    let err = bridge
        .submit_kyc(&submission_request(Some("cust_1")))
        .await
        .unwrap_err();
    let KycSubmitError::Rejected {
        field_errors,
        message,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(message, "fields missing from customer body.");
    assert_eq!(
        field_errors,
        [
            ("first_name".to_owned(), message.clone()),
            ("identifying_information".to_owned(), message.clone()),
        ]
    );

    let err = bridge
        .submit_kyc(&submission_request(Some("cust_1")))
        .await
        .unwrap_err();
    let KycSubmitError::Rejected { field_errors, .. } = err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = field_errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["residential_address.subdivision"]);
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_key_then_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let err = provider(&server)
        .submit_kyc(&submission_request(None))
        .await
        .unwrap_err();
    assert!(matches!(err, KycSubmitError::Unavailable(_)), "{err:?}");
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].headers.get("Idempotency-Key"),
        received[1].headers.get("Idempotency-Key")
    );
}

#[tokio::test]
async fn a_slow_provider_is_a_timeout_after_the_submission_timeout_without_a_retry() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(customer_object("under_review"))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = provider(&server)
        .submit_kyc(&submission_request(Some("cust_1")))
        .await
        .unwrap_err();
    assert!(matches!(err, KycSubmitError::Timeout), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_submission_timeout_is_separate_from_the_link_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(customer_object("under_review"))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let mut settings = settings(&server.uri());
    settings.request_timeout = Duration::from_millis(300);
    settings.submit_timeout = Duration::from_secs(5);
    let accepted = BridgeKycProvider::new(settings)
        .unwrap()
        .submit_kyc(&submission_request(Some("cust_1")))
        .await
        .unwrap();
    assert_eq!(accepted.state.kyc_status, KycStatus::UnderReview);
}

#[tokio::test]
async fn our_key_refused_an_unknown_customer_or_an_unknown_status_is_unavailable() {
    for (status, body) in [
        (
            401,
            json!({"code": "invalid", "message": "Invalid Api-Key header"}),
        ),
        (
            404,
            json!({"code": "Invalid", "message": "Unknown customer id"}),
        ),
        (200, customer_object("mystery_status")),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let err = provider(&server)
            .submit_kyc(&submission_request(Some("cust_1")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, KycSubmitError::Unavailable(_)),
            "{status}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_known_customers_tos_link_is_its_acceptance_link_with_our_redirect() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v0/customers/cust_1/tos_acceptance_link"))
        .and(header("Api-Key", "sk-test-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": "https://dashboard.bridge.xyz/accept-terms-of-service?email=a%40b.example&t=74ea"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let url = provider(&server)
        .create_tos_link(&TosLinkRequest {
            customer_id: customer_id(),
            provider_customer_id: Some("cust_1".into()),
            redirect_uri: "https://svc.example/tos/complete?state=abc.def".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        url,
        "https://dashboard.bridge.xyz/accept-terms-of-service?email=a%40b.example&t=74ea&redirect_uri=https%3A%2F%2Fsvc.example%2Ftos%2Fcomplete%3Fstate%3Dabc.def"
    );
    let received = server.received_requests().await.unwrap();
    assert!(received[0].headers.get("Idempotency-Key").is_none());
}

#[tokio::test]
async fn a_new_customers_tos_link_comes_from_tos_links_in_either_shape() {
    for body in [
        json!({"url": "https://dashboard.bridge.xyz/accept-terms-of-service?session_token=4d5d"}),
        json!({"data": {"url": "https://compliance.bridge.xyz/accept-terms-of-service?session_token=4d5d"}}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v0/customers/tos_links"))
            .respond_with(ResponseTemplate::new(201).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let url = provider(&server)
            .create_tos_link(&TosLinkRequest {
                customer_id: customer_id(),
                provider_customer_id: None,
                redirect_uri: "https://svc.example/tos/complete?state=s".into(),
            })
            .await
            .unwrap();
        assert!(
            url.contains(
                "accept-terms-of-service?session_token=4d5d&redirect_uri=https%3A%2F%2Fsvc.example"
            ),
            "{url}"
        );
        let received = server.received_requests().await.unwrap();
        let key = received[0]
            .headers
            .get("Idempotency-Key")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            key.starts_with(&format!("tos-link-{}-", customer_id())),
            "{key}"
        );
    }
}

#[tokio::test]
async fn a_tos_link_refused_is_a_rejection_and_a_5xx_is_retried_then_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"code": "x", "message": "nope"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let request = TosLinkRequest {
        customer_id: customer_id(),
        provider_customer_id: None,
        redirect_uri: "https://svc.example/tos/complete".into(),
    };
    let err = provider(&server)
        .create_tos_link(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KycProviderError::Rejected { message, .. } if message == "nope"),
        "{err:?}"
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .expect(2)
        .mount(&server)
        .await;
    let err = provider(&server)
        .create_tos_link(&request)
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Unavailable(_)), "{err:?}");
}
