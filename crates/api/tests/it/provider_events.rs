//! `POST /webhooks/bridge` with a mocked verifier and lifecycle: every answer.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Utc;
use domain::{KycOrder, KycSource, KycStatus, KycUpdate, ProviderRef};
use ports::{
    ApplyError, ApplyOutcome, EventRejection, MockKycLifecycle, MockProviderEventVerifier,
};

use crate::support::{assert_error_shape, call, Ports};

fn update() -> KycUpdate {
    KycUpdate {
        source: KycSource::Webhook,
        event_id: Some("wh_1".into()),
        target: ProviderRef::KycLink("kyc_link_1".into()),
        kyc_status: Some(KycStatus::Approved),
        tos_status: None,
        rejection_reasons: None,
        provider_customer_id: None,
        order: KycOrder::at(Utc::now()),
    }
}

fn delivery(body: &[u8]) -> TestRequest {
    TestRequest::post()
        .uri("/webhooks/bridge")
        .insert_header(("X-Webhook-Signature", "t=1,v0=c2ln"))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_vec())
}

fn verifier(answer: Result<KycUpdate, EventRejection>) -> MockProviderEventVerifier {
    let mut verifier = MockProviderEventVerifier::new();
    verifier.expect_provider().return_const("bridge");
    verifier
        .expect_verify()
        .times(1)
        .returning(move |_, _, _| answer.clone());
    verifier
}

fn ports(verifier: MockProviderEventVerifier, lifecycle: MockKycLifecycle) -> Ports {
    Ports {
        verifier: Some(verifier),
        lifecycle,
        ..Ports::new()
    }
}

fn applying(answer: fn() -> Result<ApplyOutcome, ApplyError>) -> MockKycLifecycle {
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle
        .expect_apply()
        .withf(|provider, update| {
            provider == "bridge" && update.event_id.as_deref() == Some("wh_1")
        })
        .times(1)
        .returning(move |_, _| answer());
    lifecycle
}

fn never_applying() -> MockKycLifecycle {
    let mut lifecycle = MockKycLifecycle::new();
    lifecycle.expect_apply().never();
    lifecycle
}

#[actix_web::test]
async fn without_a_configured_key_the_route_is_not_found() {
    let reply = call(Ports::new(), delivery(b"{}")).await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn a_verified_event_is_applied_and_answered_200_without_a_bearer_token() {
    let mut v = MockProviderEventVerifier::new();
    v.expect_provider().return_const("bridge");
    v.expect_verify()
        .withf(|signature, body, now| {
            *signature == Some("t=1,v0=c2ln")
                && body == br#"{"event_id":"wh_1"}"#
                && (Utc::now() - *now).num_seconds().abs() < 5
        })
        .times(1)
        .returning(|_, _, _| Ok(update()));
    let reply = call(
        ports(v, applying(|| Ok(ApplyOutcome::Applied))),
        delivery(br#"{"event_id":"wh_1"}"#),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status_code"], 200);
    assert_eq!(reply.body["data"]["outcome"], "applied");
}

#[actix_web::test]
async fn every_outcome_of_a_verified_event_is_a_200_naming_it() {
    for (outcome, word) in [
        (ApplyOutcome::Unchanged, "unchanged"),
        (ApplyOutcome::Duplicate, "duplicate"),
        (ApplyOutcome::Stale, "stale"),
        (ApplyOutcome::Unmatched, "unmatched"),
    ] {
        let mut lifecycle = MockKycLifecycle::new();
        lifecycle
            .expect_apply()
            .times(1)
            .returning(move |_, _| Ok(outcome));
        let reply = call(ports(verifier(Ok(update())), lifecycle), delivery(b"{}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{word}");
        assert_eq!(reply.body["data"]["outcome"], word);
    }
}

#[actix_web::test]
async fn refused_deliveries_get_their_own_answers_and_are_never_applied() {
    for (rejection, status, code) in [
        (
            EventRejection::InvalidSignature { reason: "missing" },
            StatusCode::BAD_REQUEST,
            "invalid_signature",
        ),
        (
            EventRejection::InvalidSignature { reason: "mismatch" },
            StatusCode::BAD_REQUEST,
            "invalid_signature",
        ),
        (
            EventRejection::Stale,
            StatusCode::BAD_REQUEST,
            "stale_event",
        ),
        (
            EventRejection::NotJson,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            EventRejection::Malformed {
                reason: "missing field `event_id`".into(),
            },
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            EventRejection::UnknownValue {
                field: "kyc_status",
                value: "pending_magic".into(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_value",
        ),
    ] {
        let reply = call(
            ports(verifier(Err(rejection.clone())), never_applying()),
            delivery(b"{}"),
        )
        .await;
        assert_error_shape(&reply, status, code);
        // The raw value is logged, not echoed.
        assert!(
            !reply.body.to_string().contains("pending_magic"),
            "{rejection:?}"
        );
    }
}

#[actix_web::test]
async fn an_event_of_another_category_is_acknowledged_and_dropped() {
    let reply = call(
        ports(
            verifier(Err(EventRejection::Ignored {
                kind: "transfer".into(),
            })),
            never_applying(),
        ),
        delivery(b"{}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["data"]["outcome"], "ignored");
}

#[actix_web::test]
async fn a_body_over_256_kib_is_413_unread_and_one_at_the_limit_is_read() {
    let mut v = MockProviderEventVerifier::new();
    v.expect_provider().return_const("bridge");
    v.expect_verify().never();
    let reply = call(
        ports(v, never_applying()),
        delivery(&vec![b' '; 256 * 1024 + 1]),
    )
    .await;
    assert_error_shape(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    let mut v = MockProviderEventVerifier::new();
    v.expect_provider().return_const("bridge");
    v.expect_verify()
        .withf(|_, body, _| body.len() == 256 * 1024)
        .times(1)
        .returning(|_, _, _| Err(EventRejection::NotJson));
    let reply = call(
        ports(v, never_applying()),
        delivery(&vec![b' '; 256 * 1024]),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_json");
}

#[actix_web::test]
async fn a_store_outage_is_503_so_bridge_retries() {
    for failure in [
        (|| Err(ApplyError::StoreUnavailable(anyhow::anyhow!("down"))))
            as fn() -> Result<ApplyOutcome, ApplyError>,
        || Err(ApplyError::Contention),
    ] {
        let reply = call(
            ports(verifier(Ok(update())), applying(failure)),
            delivery(b"{}"),
        )
        .await;
        assert_error_shape(
            &reply,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
    }
    let reply = call(
        ports(
            verifier(Ok(update())),
            applying(|| Err(ApplyError::Unexpected(anyhow::anyhow!("bug")))),
        ),
        delivery(b"{}"),
    )
    .await;
    assert_error_shape(&reply, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
}
