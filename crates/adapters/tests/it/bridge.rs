//! The Bridge adapter against a local HTTP server playing Bridge.

use std::time::{Duration, Instant};

use adapters::bridge::{BridgeKycProvider, BridgeSettings};
use domain::{CustomerType, KycStatus, TosStatus};
use ports::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub fn settings(base_url: &str) -> BridgeSettings {
    BridgeSettings {
        base_url: base_url.to_owned(),
        api_key: "sk-test-123".into(),
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        submit_timeout: Duration::from_millis(500),
        max_attempts: 2,
        retry_backoff: Duration::from_millis(10),
    }
}

pub fn request(key: &str) -> KycLinkRequest {
    KycLinkRequest {
        idempotency_key: key.into(),
        full_name: "Emmanuel A Towoju".into(),
        email: "tbash7676@gmail.com".into(),
        customer_type: CustomerType::Individual,
    }
}

/// The seed's KYC link object, plus a field Bridge may add later.
pub fn kyc_link_object() -> serde_json::Value {
    json!({
        "id": "kyc_link_123",
        "full_name": "Emmanuel A Towoju",
        "email": "tbash7676@gmail.com",
        "type": "individual",
        "kyc_link": "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_1&fields[developer_id]=2da8&reference-id=7d5b",
        "tos_link": "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b",
        "kyc_status": "approved",
        "rejection_reasons": [{"developer_reason": "x", "reason": "y", "created_at": "2024-12-01T18:46:15.392Z"}],
        "tos_status": "pending",
        "created_at": "2024-12-01T18:46:15.392Z",
        "customer_id": "7d5b9315-796e-4d4d-b771-1ee5997e4abf",
        "persona_inquiry_type": "gov_id_db",
        "a_field_added_later": {"nested": true}
    })
}

fn provider(server: &MockServer) -> BridgeKycProvider {
    BridgeKycProvider::new(settings(&server.uri())).unwrap()
}

#[tokio::test]
async fn bridge_sends_the_documented_request_and_reads_the_link() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .and(header("Api-Key", "sk-test-123"))
        .and(header("Idempotency-Key", "customer-abc"))
        .and(header("Content-Type", "application/json"))
        .and(body_json(json!({
            "full_name": "Emmanuel A Towoju",
            "email": "tbash7676@gmail.com",
            "type": "individual"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(kyc_link_object()))
        .expect(1)
        .mount(&server)
        .await;

    let link = provider(&server)
        .create_kyc_link(&request("customer-abc"))
        .await
        .unwrap();

    let IssuedKycLink { link, state } = link;
    assert_eq!(link.provider_link_id.as_deref(), Some("kyc_link_123"));
    assert!(link
        .kyc_link
        .contains("itmpl_1&fields[developer_id]=2da8&reference-id"));
    assert_eq!(state.kyc_status, KycStatus::Approved);
    assert_eq!(state.tos_status, TosStatus::Pending);
    assert_eq!(state.rejection_reasons.len(), 1);
    assert_eq!(state.rejection_reasons[0].reason, "y");
    assert_eq!(
        state.rejection_reasons[0].developer_reason.as_deref(),
        Some("x")
    );
    assert_eq!(
        state.rejection_reasons[0].created_at,
        "2024-12-01T18:46:15.392Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        link.provider_customer_id.as_deref(),
        Some("7d5b9315-796e-4d4d-b771-1ee5997e4abf")
    );
    assert_eq!(link.persona_inquiry_type.as_deref(), Some("gov_id_db"));
}

#[tokio::test]
async fn bridge_accepts_a_link_without_customer_or_rejection_reasons() {
    let server = MockServer::start().await;
    let mut body = kyc_link_object();
    let obj = body.as_object_mut().unwrap();
    obj.insert("customer_id".into(), serde_json::Value::Null);
    obj.remove("rejection_reasons");
    obj.remove("persona_inquiry_type");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(body))
        .mount(&server)
        .await;

    let link = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap();
    assert_eq!(link.link.provider_customer_id, None);
    assert!(link.state.rejection_reasons.is_empty());
    assert_eq!(link.link.persona_inquiry_type, None);
}

#[tokio::test]
async fn bridge_refuses_a_status_it_does_not_know_instead_of_guessing() {
    let server = MockServer::start().await;
    let mut body = kyc_link_object();
    body["kyc_status"] = "manual_review".into();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KycProviderError::Unavailable(cause) if format!("{cause:#}").contains("manual_review")),
        "{err:?}"
    );
}

#[tokio::test]
async fn bridge_duplicate_record_reuses_the_existing_link() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "duplicate_record",
            "message": "A KYC link has already been created for this email address",
            "existing_kyc_link": kyc_link_object()
        })))
        .expect(1)
        .mount(&server)
        .await;

    let link = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap();
    assert_eq!(link.link.provider_link_id.as_deref(), Some("kyc_link_123"));
}

#[tokio::test]
async fn bridge_other_4xx_is_a_rejection_with_the_providers_message_and_no_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "invalid_parameters",
            "message": "email is invalid"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap_err();
    match err {
        KycProviderError::Rejected { code, message } => {
            assert_eq!(code.as_deref(), Some("invalid_parameters"));
            assert_eq!(message, "email is invalid");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn bridge_refusing_our_api_key_is_unavailable_not_a_client_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"code": "unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn bridge_5xx_is_retried_with_the_same_idempotency_key_then_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;

    let err = provider(&server)
        .create_kyc_link(&request("customer-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Unavailable(_)), "{err:?}");
    let keys: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r: &Request| {
            r.headers
                .get("Idempotency-Key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys, vec!["customer-1", "customer-1"]);
}

#[tokio::test]
async fn bridge_recovers_when_a_retry_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kyc_link_object()))
        .mount(&server)
        .await;
    let link = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap();
    assert_eq!(link.state.kyc_status, KycStatus::Approved);
}

#[tokio::test]
async fn bridge_timeout_is_reported_within_a_bounded_time() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(kyc_link_object())
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Timeout), "{err:?}");
    // Two attempts of 500 ms plus a 10 ms pause, with slack for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bridge_unreachable_is_unavailable() {
    // Bind then drop a listener: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let provider = BridgeKycProvider::new(settings(&format!("http://127.0.0.1:{port}"))).unwrap();
    let err = provider.create_kyc_link(&request("k")).await.unwrap_err();
    assert!(matches!(err, KycProviderError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn bridge_unreadable_success_body_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = provider(&server)
        .create_kyc_link(&request("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, KycProviderError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn bridge_request_carries_no_api_key_in_debug_output() {
    let settings = settings("http://127.0.0.1:1");
    assert!(!format!("{settings:?}").contains("sk-test-123"));
    let provider = BridgeKycProvider::new(settings).unwrap();
    assert!(!format!("{provider:?}").contains("sk-test-123"));
}
