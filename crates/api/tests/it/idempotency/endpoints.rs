//! `POST /webhook-endpoints` with an `Idempotency-Key`, with the key store and the use case
//! mocked: the reserved endpoint, the stored copy without its secret, replays, what
//! releases the key, takeovers, and keys required.

use std::sync::mpsc;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use api::idempotency::fingerprint;
use chrono::Utc;
use domain::{
    EndpointDescription, EndpointId, EventFilter, SigningSecret, UrlRules, WebhookEndpoint,
    WebhookUrl,
};
use ports::{
    Begun, CreatedEndpoint, EndpointError, MockIdempotencyStore, MockManageDeliveries,
    MockManageWebhookEndpoints,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{account, assert_error_shape, Reply};
use crate::webhook_support::{authorised, call_keyed, endpoints, keys};

use super::{fresh_reserving, store_beginning};

const RESERVED: Uuid = Uuid::from_u128(0xe5e5);

fn body() -> Value {
    json!({"url": "https://hooks.example.com/in", "description": "orders"})
}

fn keyed() -> TestRequest {
    authorised(TestRequest::post().uri("/webhook-endpoints"))
        .insert_header(("Idempotency-Key", "hook-1"))
        .set_json(body())
}

fn registered() -> CreatedEndpoint {
    CreatedEndpoint {
        endpoint: WebhookEndpoint {
            id: EndpointId(RESERVED),
            account_id: account(),
            url: WebhookUrl::parse("https://hooks.example.com/in", UrlRules::default()).unwrap(),
            description: EndpointDescription::parse("orders").unwrap(),
            filter: EventFilter::all(),
            enabled: true,
            created_at: "2026-01-02T03:04:05.678Z".parse().unwrap(),
            updated_at: None,
        },
        secret: SigningSecret::from_key(&[9; 32]),
    }
}

fn fresh() -> MockIdempotencyStore {
    fresh_reserving(RESERVED)
}

async fn send(
    store: MockIdempotencyStore,
    use_case: MockManageWebhookEndpoints,
    request: TestRequest,
) -> Reply {
    call_keyed(
        use_case,
        MockManageDeliveries::new(),
        keys(store, false),
        request,
    )
    .await
}

#[actix_web::test]
async fn a_new_key_registers_under_the_reserved_id_and_keeps_the_answer_without_its_secret() {
    let (claims, claim) = mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store.expect_begin().times(1).returning(move |c| {
        claims.send(c.clone()).unwrap();
        Ok(Begun::Fresh {
            reserved_id: RESERVED,
        })
    });
    let (stored_tx, stored) = mpsc::channel();
    let mut use_case = endpoints(false);
    use_case
        .expect_create_endpoint_reserved()
        .times(1)
        .withf(|acct, input, reservation| {
            *acct == account()
                && input.url.as_str() == "https://hooks.example.com/in"
                && reservation.reserved_id() == RESERVED
        })
        .returning(move |_, _, reservation| {
            let created = registered();
            stored_tx
                .send(reservation.completion(&created, None, Utc::now()))
                .unwrap();
            Ok(created)
        });

    let reply = send(store, use_case, keyed()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let secret = registered().secret.expose().to_owned();
    assert_eq!(reply.body["data"]["secret"], secret.as_str());
    assert_eq!(reply.body["data"]["id"], RESERVED.to_string());
    let claim = claim.recv().unwrap();
    assert_eq!(
        (claim.scope.path.as_str(), claim.scope.key.as_str()),
        ("/webhook-endpoints", "hook-1")
    );
    assert_eq!(claim.fingerprint, fingerprint(&body()));
    // What is kept is the answer, byte for byte, but for the secret.
    let completion = stored.recv().unwrap();
    let kept = String::from_utf8(completion.response.body).unwrap();
    assert!(!kept.contains(&secret), "{kept}");
    let sent = String::from_utf8(reply.bytes).unwrap();
    assert_eq!(
        kept,
        sent.replace(&format!("\"secret\":\"{secret}\""), "\"secret\":null")
    );
    assert_eq!(completion.response.status, 201);
    assert_eq!(completion.customer_id, None);
}

#[actix_web::test]
async fn a_replay_answers_the_stored_copy_and_registers_nothing() {
    let kept = api::webhooks::idempotent::without_secret(api::webhooks::idempotent::created(
        &registered(),
    ));
    let reply = send(
        store_beginning(Begun::Replay(kept.clone())),
        endpoints(false),
        keyed(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.bytes, kept.body);
    assert_eq!(reply.body["data"]["secret"], Value::Null);
    assert_eq!(reply.headers.get("idempotent-replayed").unwrap(), "true");
}

#[actix_web::test]
async fn other_content_under_the_key_is_422_idempotency_key_reused() {
    let reply = send(store_beginning(Begun::Mismatch), endpoints(false), keyed()).await;
    assert_error_shape(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
}

#[actix_web::test]
async fn every_failure_releases_the_key_for_a_retry() {
    let cases: Vec<(fn() -> EndpointError, StatusCode)> = vec![
        (
            || EndpointError::LimitReached { limit: 10 },
            StatusCode::CONFLICT,
        ),
        (
            || EndpointError::UrlRefused("resolves to a private address".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            || EndpointError::StoreUnavailable(anyhow::anyhow!("pool")),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            || EndpointError::Unexpected(anyhow::anyhow!("bug")),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (error, status) in cases {
        let mut store = fresh();
        store
            .expect_release()
            .times(1)
            .withf(|key| key.reserved_id == RESERVED)
            .returning(|_| Ok(true));
        store.expect_complete().never();
        let mut use_case = endpoints(false);
        use_case
            .expect_create_endpoint_reserved()
            .times(1)
            .returning(move |_, _, _| Err(error()));
        let reply = send(store, use_case, keyed()).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
}

#[actix_web::test]
async fn a_taken_over_key_without_its_endpoint_registers_under_the_same_id() {
    let mut use_case = endpoints(false);
    use_case
        .expect_get_endpoint()
        .times(1)
        .withf(|acct, id| (*acct, *id) == (account(), EndpointId(RESERVED)))
        .returning(|_, _| Err(EndpointError::NotFound));
    use_case
        .expect_create_endpoint_reserved()
        .times(1)
        .withf(|_, _, reservation| reservation.reserved_id() == RESERVED)
        .returning(|_, _, _| Ok(registered()));
    let store = store_beginning(Begun::Resume {
        reserved_id: RESERVED,
    });
    let reply = send(store, use_case, keyed()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert!(reply.headers.get("idempotent-replayed").is_none());
}

#[actix_web::test]
async fn an_endpoint_under_an_unfinished_key_is_reported_not_registered_twice() {
    let mut use_case = endpoints(false);
    use_case
        .expect_get_endpoint()
        .times(1)
        .returning(|_, _| Ok(registered().endpoint));
    use_case.expect_create_endpoint_reserved().never();
    let mut store = store_beginning(Begun::Resume {
        reserved_id: RESERVED,
    });
    store.expect_release().times(1).returning(|_| Ok(true));
    let reply = send(store, use_case, keyed()).await;
    assert_error_shape(&reply, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
}

#[actix_web::test]
async fn a_bad_body_never_touches_its_key_and_a_missing_key_may_be_required() {
    let reply = send(
        MockIdempotencyStore::new(),
        endpoints(false),
        authorised(TestRequest::post().uri("/webhook-endpoints"))
            .insert_header(("Idempotency-Key", "hook-1"))
            .set_json(json!({"url": "ftp://x"})),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    let reply = call_keyed(
        endpoints(false),
        MockManageDeliveries::new(),
        keys(MockIdempotencyStore::new(), true),
        authorised(TestRequest::post().uri("/webhook-endpoints")).set_json(body()),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "idempotency_key_required");
}
