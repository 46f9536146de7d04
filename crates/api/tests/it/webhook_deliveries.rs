//! An endpoint's deliveries (`/webhook-endpoints/{id}/deliveries`), over the real routes,
//! extractors and error mapping, with mocked use cases.

use actix_web::http::StatusCode;
use actix_web::test;
use domain::{EventId, WebhookEventType};
use ports::{
    DeliveryError, DeliveryPage, DeliveryRecord, DeliveryStatus, JobId, MockManageDeliveries,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::assert_error_shape;
use crate::webhook_support::{authorised, call, endpoint_id, endpoints, path};

fn delivery(status: DeliveryStatus) -> DeliveryRecord {
    let at = "2026-01-02T03:04:05.678Z".parse().unwrap();
    DeliveryRecord {
        id: JobId(Uuid::from_u128(0xd1)),
        endpoint_id: endpoint_id(),
        event_id: EventId::from_stored("evt_0123456789abcdef0123456789abcdef".into()),
        event_type: WebhookEventType::CustomerCreated,
        status,
        attempts: 2,
        last_http_status: Some(500),
        last_error: Some("HTTP 500: down".into()),
        next_attempt_at: (status == DeliveryStatus::Queued).then_some(at),
        created_at: at,
        finished_at: (status != DeliveryStatus::Queued).then_some(at),
    }
}

#[actix_web::test]
async fn deliveries_are_listed_with_their_outcome_and_a_cursor() {
    let mut deliveries = MockManageDeliveries::new();
    deliveries
        .expect_list_deliveries()
        .times(1)
        .withf(|_, id, query| {
            *id == endpoint_id()
                && query.limit == 5
                && query.starting_after == Some(JobId(Uuid::from_u128(0xd0)))
        })
        .returning(|_, _, _| {
            Ok(DeliveryPage {
                deliveries: vec![delivery(DeliveryStatus::Failed)],
                has_more: true,
            })
        });
    let uri = path(&format!(
        "/deliveries?limit=5&starting_after={}",
        Uuid::from_u128(0xd0)
    ));
    let reply = call(
        endpoints(false),
        deliveries,
        authorised(test::TestRequest::get().uri(&uri)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["has_more"], true);
    assert_eq!(
        reply.body["data"][0],
        json!({
            "id": Uuid::from_u128(0xd1).to_string(),
            "event_id": "evt_0123456789abcdef0123456789abcdef",
            "event_type": "customer.created",
            "status": "failed",
            "attempts": 2,
            "last_http_status": 500,
            "last_error": "HTTP 500: down",
            "next_attempt_at": null,
            "created_at": "2026-01-02T03:04:05.678Z",
            "delivered_at": null,
            "failed_at": "2026-01-02T03:04:05.678Z",
        })
    );

    let reply = call(
        endpoints(false),
        MockManageDeliveries::new(),
        authorised(test::TestRequest::get().uri(&path("/deliveries?limit=0&starting_after=x"))),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["details"].as_object().unwrap().len(),
        2,
        "{}",
        reply.body
    );

    let mut deliveries = MockManageDeliveries::new();
    deliveries
        .expect_list_deliveries()
        .returning(|_, _, _| Err(DeliveryError::UnknownCursor));
    let uri = path(&format!("/deliveries?starting_after={}", Uuid::new_v4()));
    let reply = call(
        endpoints(false),
        deliveries,
        authorised(test::TestRequest::get().uri(&uri)),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(reply.body["details"]["starting_after"].is_string());
}

#[actix_web::test]
async fn a_retry_is_202_or_says_why_not() {
    let retry = path(&format!("/deliveries/{}/retry", Uuid::from_u128(0xd1)));
    let mut deliveries = MockManageDeliveries::new();
    deliveries
        .expect_retry_delivery()
        .times(1)
        .withf(|_, endpoint, id| *endpoint == endpoint_id() && id.0 == Uuid::from_u128(0xd1))
        .returning(|_, _, _| Ok(delivery(DeliveryStatus::Queued)));
    let reply = call(
        endpoints(false),
        deliveries,
        authorised(test::TestRequest::post().uri(&retry)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["data"]["status"], "queued");
    assert_eq!(
        reply.body["data"]["next_attempt_at"],
        "2026-01-02T03:04:05.678Z"
    );

    for (error, status, code) in [
        (
            (|| DeliveryError::InFlight) as fn() -> DeliveryError,
            StatusCode::CONFLICT,
            "delivery_in_progress",
        ),
        (
            || DeliveryError::EndpointDisabled,
            StatusCode::CONFLICT,
            "endpoint_disabled",
        ),
        (
            || DeliveryError::NotFound,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let mut deliveries = MockManageDeliveries::new();
        deliveries
            .expect_retry_delivery()
            .returning(move |_, _, _| Err(error()));
        let reply = call(
            endpoints(false),
            deliveries,
            authorised(test::TestRequest::post().uri(&retry)),
        )
        .await;
        assert_error_shape(&reply, status, code);
    }
    let reply = call(
        endpoints(false),
        MockManageDeliveries::new(),
        authorised(test::TestRequest::post().uri(&path("/deliveries/nope/retry"))),
    )
    .await;
    assert_error_shape(&reply, StatusCode::NOT_FOUND, "not_found");
}
