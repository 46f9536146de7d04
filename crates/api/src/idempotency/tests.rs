//! The glue's hooks for operations other than `POST /customer`: an answer kept with a secret
//! redacted, and a stored copy answered as sent.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use actix_web::body::MessageBody as _;
use actix_web::test::TestRequest;
use ports::{Begun, IdempotencyKey, IdempotencyPolicy, MockIdempotencyStore};
use serde_json::json;

use super::*;

/// An operation like `POST /webhook-endpoints`: its answer shows a secret once, and the
/// stored copy has it replaced by `null`.
static WITH_SECRET: Operation<Value> = Operation {
    stores_error: |_| false,
    render: |value| StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/webhook-endpoints/we_1".into()),
        body: serde_json::to_vec(value).unwrap(),
    },
    redact: Some(|mut answer| {
        let mut body: Value = serde_json::from_slice(&answer.body).unwrap();
        body["secret"] = Value::Null;
        answer.body = serde_json::to_vec(&body).unwrap();
        answer
    }),
    customer_of: |_| None,
};

fn service(begun: Begun) -> (Idempotency, mpsc::Receiver<ports::IdempotencyCompletion>) {
    let (tx, rx) = mpsc::channel();
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .times(1)
        .returning(move |_| Ok(begun.clone()));
    store.expect_complete().returning(move |c| {
        tx.send(c.clone()).unwrap();
        Ok(true)
    });
    let policy = IdempotencyPolicy {
        ttl: Duration::from_secs(60),
        lease: Duration::from_secs(60),
        key_required: false,
    };
    (Idempotency::new(Arc::new(store), policy), rx)
}

fn request() -> KeyedRequest {
    let req = TestRequest::post()
        .uri("/webhook-endpoints")
        .to_http_request();
    KeyedRequest::new(
        IdempotencyKeyHeader(Some(IdempotencyKey::parse("k").unwrap())),
        &req,
        AccountId(Uuid::from_u128(1)),
        &json!({"url": "https://example.com/hook"}),
    )
}

fn endpoint() -> Value {
    json!({"id": "we_1", "secret": "whsec_shown_once"})
}

fn body_of(response: HttpResponse) -> Value {
    let bytes = response.into_body().try_into_bytes().unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[actix_web::test]
async fn the_first_answer_shows_the_secret_and_the_stored_copy_does_not() {
    let (idempotency, _) = service(Begun::Fresh {
        reserved_id: Uuid::from_u128(2),
    });
    let (kept_tx, kept) = mpsc::channel();
    let response = respond(
        &idempotency,
        request(),
        &WITH_SECRET,
        |_| async { Ok(None) },
        |reservation| async move {
            let reservation = reservation.unwrap();
            let created = endpoint();
            kept_tx
                .send(reservation.completion(&created, None, chrono::Utc::now()))
                .unwrap();
            Ok(created)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        response.headers().get("location").unwrap(),
        "/webhook-endpoints/we_1"
    );
    assert_eq!(body_of(response)["secret"], "whsec_shown_once");
    let kept: Value = serde_json::from_slice(&kept.recv().unwrap().response.body).unwrap();
    assert_eq!(kept, json!({"id": "we_1", "secret": null}));
}

#[actix_web::test]
async fn an_answer_rebuilt_from_an_existing_row_is_kept_and_answered_redacted() {
    let (idempotency, completions) = service(Begun::Resume {
        reserved_id: Uuid::from_u128(2),
    });
    let response = respond(
        &idempotency,
        request(),
        &WITH_SECRET,
        |id| async move {
            assert_eq!(id, Uuid::from_u128(2));
            Ok(Some(endpoint()))
        },
        |_| async { panic!("the row exists: nothing runs again") },
    )
    .await
    .unwrap();
    assert_eq!(response.headers().get(IDEMPOTENT_REPLAYED).unwrap(), "true");
    assert_eq!(body_of(response), json!({"id": "we_1", "secret": null}));
    let stored: Value = serde_json::from_slice(&completions.recv().unwrap().response.body).unwrap();
    assert_eq!(stored, json!({"id": "we_1", "secret": null}));
}

#[test]
fn a_stored_answer_without_optional_headers_sends_none() {
    let response = answer(
        &StoredResponse {
            status: 422,
            content_type: None,
            location: None,
            body: Vec::new(),
        },
        false,
    );
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.headers().get(CONTENT_TYPE).is_none());
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.headers().get(IDEMPOTENT_REPLAYED).is_none());
}
