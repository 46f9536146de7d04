//! Admission control (503 with `Retry-After` beyond the limits, counted in `/metrics`; counts
//! that survive clients going away; bodies read before a slot is taken; logins in a lane of
//! their own) and the request-body time limits (408 once a body stalls, never while it
//! moves; 408 once an ordinary body takes longer than its deadline).

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Bytes};
use actix_web::{test, App, HttpResponse};
use api::limits::{admit, body_idle_timeout, LimitSettings, Limits};
use futures_util::{stream, Stream, StreamExt as _};
use ports::{AccountStatus, CreateCustomer, MockAccountStatus};
use serde_json::Value;
use tokio::sync::Notify;

use crate::support::{keys_with, post_customer, unreachable_use_case, SECRET};

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

fn settings(max_in_flight: usize, max_queued: usize, wait: Duration) -> LimitSettings {
    LimitSettings {
        max_in_flight,
        max_queued,
        max_queue_wait: wait,
        queue_target_wait: Some(Duration::from_millis(5)),
        body_idle: Duration::from_millis(300),
        body_deadline: Duration::from_secs(5),
        max_logins: 2,
    }
}

/// An app whose `/held` requests wait until `release` is notified, behind the limits.
macro_rules! app_with {
    ($limits:expr, $registry:expr, $release:expr) => {{
        let limits = web::Data::new(Limits::new($limits, $registry).unwrap());
        let release: Arc<Notify> = $release;
        test::init_service(
            App::new()
                .app_data(limits)
                .wrap(from_fn(admit))
                .wrap(from_fn(body_idle_timeout))
                .route(
                    "/held",
                    web::get().to(move || {
                        let release = release.clone();
                        async move {
                            release.notified().await;
                            HttpResponse::Ok().finish()
                        }
                    }),
                )
                .route("/quick", web::get().to(HttpResponse::Ok))
                .route("/healthz", web::get().to(HttpResponse::Ok))
                .route(
                    "/upload",
                    web::post().to(|body: Bytes| async move {
                        HttpResponse::Ok().body(body.len().to_string())
                    }),
                ),
        )
        .await
    }};
}

async fn json_of<B: MessageBody>(response: ServiceResponse<B>) -> Value {
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

/// A `/held` request and, beside it, a `GET` of `uri`, which is answered while `/held` is
/// still held; `/held` is released once that answer is in. Both answers, `/held`'s first.
async fn beside_held<S, B>(
    app: &S,
    release: &Notify,
    uri: &str,
) -> (ServiceResponse<B>, ServiceResponse<B>)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let held = test::call_service(app, test::TestRequest::get().uri("/held").to_request());
    let beside = async {
        let response =
            test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
        release.notify_one();
        response
    };
    tokio::join!(held, beside)
}

fn refused_count(registry: &prometheus::Registry, reason: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == "http_requests_refused_total")
        .flat_map(|family| family.get_metric())
        .filter(|metric| metric.get_label().iter().any(|l| l.value() == reason))
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

#[actix_web::test]
async fn a_request_beyond_the_limits_is_refused_at_once_with_503_and_retry_after() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let app = app_with!(
        settings(1, 0, Duration::from_secs(5)),
        &registry,
        release.clone()
    );

    let (held, refused) = beside_held(&app, &release, "/quick").await;

    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers().get(header::RETRY_AFTER).unwrap(), "1");
    let body = json_of(refused).await;
    assert_eq!(body["code"], "service_unavailable", "{body}");
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(refused_count(&registry, "queue_full"), 1);
    // The slot is free again.
    let after = test::call_service(&app, test::TestRequest::get().uri("/quick").to_request()).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_queued_request_is_served_when_a_slot_frees_within_the_wait() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let app = app_with!(
        settings(1, 1, Duration::from_secs(5)),
        &registry,
        release.clone()
    );

    let held = test::call_service(&app, test::TestRequest::get().uri("/held").to_request());
    let queued = test::call_service(&app, test::TestRequest::get().uri("/quick").to_request());
    let releaser = async {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        release.notify_one();
    };
    let (held, queued, ()) = tokio::join!(held, queued, releaser);
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(queued.status(), StatusCode::OK);
    assert_eq!(refused_count(&registry, "queue_full"), 0);
    assert_eq!(refused_count(&registry, "queue_timeout"), 0);
}

#[actix_web::test]
async fn a_queued_request_is_refused_once_its_wait_is_over() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let wait = Duration::from_millis(100);
    let app = app_with!(settings(1, 4, wait), &registry, release.clone());

    let held = test::call_service(&app, test::TestRequest::get().uri("/held").to_request());
    let queued = async {
        let started = Instant::now();
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/quick").to_request()).await;
        let waited = started.elapsed();
        release.notify_one();
        (response, waited)
    };
    let (held, (queued, waited)) = tokio::join!(held, queued);
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(queued.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(queued.headers().contains_key(header::RETRY_AFTER));
    assert!(
        waited >= wait,
        "refused after {waited:?}, before its wait was over"
    );
    assert_eq!(refused_count(&registry, "queue_timeout"), 1);
}

#[actix_web::test]
async fn the_operations_endpoints_are_never_refused() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let app = app_with!(
        settings(1, 0, Duration::from_secs(5)),
        &registry,
        release.clone()
    );

    let (held, health) = beside_held(&app, &release, "/healthz").await;
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(refused_count(&registry, "queue_full"), 0);
}

/// A request to `uri` announcing `length` bytes whose body is `body`.
macro_rules! upload {
    ($uri:expr, $length:expr, $body:expr) => {{
        let request = test::TestRequest::post()
            .uri($uri)
            .insert_header((header::CONTENT_LENGTH, $length))
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_request();
        let body: Body = $body;
        request.replace_payload(Payload::from(body)).0
    }};
}

#[actix_web::test]
async fn a_body_that_stalls_gets_408_once_the_idle_time_has_passed_and_not_before() {
    let registry = prometheus::Registry::new();
    let app = app_with!(
        settings(4, 4, Duration::from_secs(1)),
        &registry,
        Arc::default()
    );
    let stalled: Body = Box::pin(
        stream::once(async { Ok(Bytes::from_static(b"{\"partial\": ")) }).chain(stream::pending()),
    );

    let started = Instant::now();
    let response = test::call_service(&app, upload!("/upload", 100, stalled)).await;
    let waited = started.elapsed();

    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(
        waited >= Duration::from_millis(300),
        "cut off after {waited:?}"
    );
    // The rest of the body was never read: the connection is not kept alive.
    assert!(!response.response().head().keep_alive());
    let body = json_of(response).await;
    assert_eq!(body["code"], "request_timeout", "{body}");
    assert!(body["error"].is_string(), "{body}");
}

#[actix_web::test]
async fn a_slow_body_that_keeps_moving_is_not_cut_off() {
    let registry = prometheus::Registry::new();
    let app = app_with!(
        settings(4, 4, Duration::from_secs(1)),
        &registry,
        Arc::default()
    );
    // Twelve chunks 100 ms apart: 1.2 s in all, four times the idle limit, no gap near it.
    let chunks = 12;
    let moving: Body = Box::pin(stream::unfold(0, move |sent| async move {
        if sent == chunks {
            return None;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        Some((Ok(Bytes::from_static(b"0123456789")), sent + 1))
    }));

    let response = test::call_service(&app, upload!("/upload", chunks * 10, moving)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(test::read_body(response).await, Bytes::from("120"));
}

#[actix_web::test]
async fn a_stalled_customer_body_gets_408_whatever_the_json_extractor_makes_of_it() {
    let registry = prometheus::Registry::new();
    let limits = Limits::new(settings(4, 4, Duration::from_secs(1)), &registry).unwrap();
    let create: Arc<dyn CreateCustomer> = Arc::new(unreachable_use_case());
    let mut status = MockAccountStatus::new();
    status.expect_is_active().returning(|_| Ok(true));
    let status: Arc<dyn AccountStatus> = Arc::new(status);
    // The create route's Idempotency-Key glue; without a key it is never asked.
    let idempotency = ports::Idempotency::new(
        Arc::new(ports::MockIdempotencyStore::new()),
        ports::IdempotencyPolicy {
            ttl: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            key_required: false,
        },
    );
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(limits))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(create))
            .app_data(web::Data::from(status))
            .app_data(web::Data::new(idempotency))
            .app_data(web::Data::from(
                Arc::new(ports::MockReadCustomers::new()) as Arc<dyn ports::ReadCustomers>
            ))
            .wrap(from_fn(admit))
            .wrap(from_fn(body_idle_timeout))
            .configure(api::configure),
    )
    .await;
    let stalled: Body = Box::pin(
        stream::once(async { Ok(Bytes::from_static(b"{\"customer_name\": \"Ada")) })
            .chain(stream::pending()),
    );
    let request = post_customer()
        .insert_header((header::CONTENT_LENGTH, 200))
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .to_request()
        .replace_payload(Payload::from(stalled))
        .0;

    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(json_of(response).await["code"], "request_timeout");
}

#[actix_web::test]
async fn under_sustained_overload_the_queue_stands_aside_until_the_slots_have_room_again() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    // One slot and one place in the queue; a queued request waits at most 30 ms, far above
    // the 5 ms target, and three or four an interval find the slot busy, more than the
    // queue's one place.
    let app = app_with!(
        settings(1, 1, Duration::from_millis(30)),
        &registry,
        release.clone()
    );
    let quick = || test::call_service(&app, test::TestRequest::get().uri("/quick").to_request());

    let held = test::call_service(&app, test::TestRequest::get().uri("/held").to_request());
    let overload = async {
        // Each of these finds the slot busy, queues and is refused at the end of its wait,
        // until a whole interval of such waits has made the queue standing; from then on
        // a request that finds the slot busy is refused without queueing.
        let started = Instant::now();
        let mut standing = None;
        while standing.is_none() {
            assert!(started.elapsed() < Duration::from_secs(5), "never standing");
            let response = quick().await;
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            if refused_count(&registry, "queue_standing") > 0 {
                standing = Some(response);
            }
        }
        release.notify_one();
        standing.unwrap()
    };
    let (held, standing) = tokio::join!(held, overload);
    assert_eq!(held.status(), StatusCode::OK);
    // A 30 ms wait each: it takes more than three of them to fill the 100 ms interval.
    assert!(refused_count(&registry, "queue_timeout") >= 4);
    assert!(standing.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        json_of(standing).await["code"],
        "service_unavailable",
        "the same answer as any refusal"
    );

    // Nobody finds the slot busy for two whole intervals: the next request that does queues
    // again (and, the slot staying busy, is refused at the end of its wait).
    actix_web::rt::time::sleep(admission_interval() * 2 + Duration::from_millis(20)).await;
    let (timed_out, bypassed) = (
        refused_count(&registry, "queue_timeout"),
        refused_count(&registry, "queue_standing"),
    );
    let (held, queued) = beside_held(&app, &release, "/quick").await;
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(queued.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused_count(&registry, "queue_timeout"), timed_out + 1);
    assert_eq!(refused_count(&registry, "queue_standing"), bypassed);
}

#[actix_web::test]
async fn with_no_target_wait_the_queue_is_always_used() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    // The load that makes the queue stand in the test above.
    let always_queue = LimitSettings {
        queue_target_wait: None,
        ..settings(1, 1, Duration::from_millis(30))
    };
    let app = app_with!(always_queue, &registry, release.clone());
    let quick = || test::call_service(&app, test::TestRequest::get().uri("/quick").to_request());

    let held = test::call_service(&app, test::TestRequest::get().uri("/held").to_request());
    let overload = async {
        let mut count = 0;
        let started = Instant::now();
        while started.elapsed() < admission_interval() * 2 {
            assert_eq!(quick().await.status(), StatusCode::SERVICE_UNAVAILABLE);
            count += 1;
        }
        release.notify_one();
        count
    };
    let (held, count) = tokio::join!(held, overload);
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(refused_count(&registry, "queue_timeout"), count);
    assert_eq!(refused_count(&registry, "queue_standing"), 0);
}

/// CoDel's interval, which the admission uses (100 ms).
fn admission_interval() -> Duration {
    Duration::from_millis(100)
}
