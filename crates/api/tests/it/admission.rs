//! Admission against clients that misbehave: counts that survive a client going away while
//! its request waits or runs, bodies read whole (within a deadline and a size) before a slot
//! is taken so that slow bodies hold none, and logins in a lane of their own so that a flood
//! of them leaves the rest of the API its slots.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Bytes};
use actix_web::{test, App, HttpResponse};
use api::limits::{admit, body_idle_timeout, LimitSettings, Limits};
use api::sessions::LoginThrottle;
use domain::AccountId;
use futures_util::{stream, Stream};
use ports::{AccountStatus, Authenticate, LoginError, MockAccountStatus};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::support::{keys_with, token, SECRET};

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// One processing slot and no queue; two logins at once; bodies idle at most 300 ms.
fn one_slot() -> LimitSettings {
    LimitSettings {
        max_in_flight: 1,
        max_queued: 0,
        max_queue_wait: Duration::from_secs(5),
        queue_target_wait: Some(Duration::from_millis(5)),
        body_idle: Duration::from_millis(300),
        body_deadline: Duration::from_secs(5),
        max_logins: 2,
    }
}

/// Logins that take until `release` is notified (a throttle wait, a busy argon2 queue).
struct HeldLogins(Arc<Notify>);

#[async_trait::async_trait]
impl Authenticate for HeldLogins {
    async fn login(&self, _account_id: &str, _app_secret: &str) -> Result<AccountId, LoginError> {
        self.0.notified().await;
        Err(LoginError::InvalidCredentials)
    }
}

/// Every API route, with logins held until `release` is notified, plus `/held` (waits for
/// `release` too), `/quick` and `/echo` (answers its body's length), behind the limits.
async fn app(
    settings: LimitSettings,
    registry: &prometheus::Registry,
    release: &Arc<Notify>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let limits = Limits::new(settings, registry).unwrap();
    let mut status = MockAccountStatus::new();
    status.expect_is_active().returning(|_| Ok(true));
    let status: Arc<dyn AccountStatus> = Arc::new(status);
    let logins: Arc<dyn Authenticate> = Arc::new(HeldLogins(Arc::clone(release)));
    let held = Arc::clone(release);
    test::init_service(
        App::new()
            .app_data(web::Data::new(limits))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(status))
            .app_data(web::Data::from(logins))
            .app_data(web::Data::new(LoginThrottle::new(Default::default())))
            .wrap(from_fn(admit))
            .wrap(from_fn(body_idle_timeout))
            .route(
                "/held",
                web::get().to(move || {
                    let held = Arc::clone(&held);
                    async move {
                        held.notified().await;
                        HttpResponse::Ok().finish()
                    }
                }),
            )
            .route("/quick", web::get().to(HttpResponse::Ok))
            .route(
                "/echo",
                web::post().to(|body: Bytes| async move {
                    HttpResponse::Ok().body(body.len().to_string())
                }),
            )
            .configure(api::configure),
    )
    .await
}

fn get(uri: &str) -> actix_http::Request {
    test::TestRequest::get().uri(uri).to_request()
}

/// A `POST /echo` announcing `length` bytes (or none: chunked) whose body is `body`.
fn upload(length: Option<usize>, body: Body) -> actix_http::Request {
    let mut request = test::TestRequest::post()
        .uri("/echo")
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"));
    request = match length {
        Some(length) => request.insert_header((header::CONTENT_LENGTH, length)),
        None => request.insert_header((header::TRANSFER_ENCODING, "chunked")),
    };
    request.to_request().replace_payload(Payload::from(body)).0
}

/// A body that sends one byte every `every`, `count` times.
fn trickle(every: Duration, count: usize) -> Body {
    Box::pin(stream::unfold(0, move |sent| async move {
        if sent == count {
            return None;
        }
        actix_web::rt::time::sleep(every).await;
        Some((Ok(Bytes::from_static(b"x")), sent + 1))
    }))
}

/// Polls `future` once, as a client's connection would; true while it is still waiting.
async fn still_waiting<F: Future>(mut future: Pin<&mut F>) -> bool {
    std::future::poll_fn(move |cx| Poll::Ready(future.as_mut().poll(cx).is_pending())).await
}

fn gauge(registry: &prometheus::Registry, name: &str) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_gauge().get_value())
        .sum()
}

async fn json_of<B: MessageBody>(response: ServiceResponse<B>) -> Value {
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

#[actix_web::test]
async fn a_queued_request_whose_client_goes_away_leaves_no_count_behind() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let mut settings = one_slot();
    settings.max_queued = 1;
    let app = app(settings, &registry, &release).await;

    let mut held = pin!(test::call_service(&app, get("/held")));
    assert!(still_waiting(held.as_mut()).await);
    // Each time the queue's one place is taken, and given back when the client goes away.
    for _ in 0..3 {
        let mut queued = pin!(test::call_service(&app, get("/quick")));
        assert!(
            still_waiting(queued.as_mut()).await,
            "refused: the queue still counts a request that is gone"
        );
        assert_eq!(gauge(&registry, "http_requests_queued"), 1.0);
    }
    assert_eq!(gauge(&registry, "http_requests_queued"), 0.0);

    // A request still finds its place in the queue, and is served once the slot frees.
    let queued = test::call_service(&app, get("/quick"));
    let releaser = async {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        release.notify_one();
    };
    let (held, queued, ()) = tokio::join!(held, queued, releaser);
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(queued.status(), StatusCode::OK);
    assert_eq!(gauge(&registry, "http_requests_in_flight"), 0.0);
}

#[actix_web::test]
async fn a_running_request_whose_client_goes_away_gives_its_slot_and_count_back() {
    let registry = prometheus::Registry::new();
    let app = app(one_slot(), &registry, &Arc::new(Notify::new())).await;

    for _ in 0..3 {
        let mut held = pin!(test::call_service(&app, get("/held")));
        assert!(still_waiting(held.as_mut()).await);
        assert_eq!(gauge(&registry, "http_requests_in_flight"), 1.0);
    }
    assert_eq!(gauge(&registry, "http_requests_in_flight"), 0.0);
    let after = test::call_service(&app, get("/quick")).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[actix_web::test]
async fn bodies_that_trickle_in_hold_no_slot_while_the_rest_of_the_api_is_served() {
    let registry = prometheus::Registry::new();
    let app = app(one_slot(), &registry, &Arc::new(Notify::new())).await;

    // A byte every 100 ms: never silent for the 300 ms the idle rule allows.
    let mut tricklers: Vec<_> = (0..4)
        .map(|_| {
            let body = trickle(Duration::from_millis(100), 1_000);
            Box::pin(test::call_service(&app, upload(Some(1_000), body)))
        })
        .collect();
    for trickler in &mut tricklers {
        assert!(
            still_waiting(trickler.as_mut()).await,
            "a body still arriving was refused: the others' bodies hold the slots"
        );
    }
    let quick = test::call_service(&app, get("/quick")).await;
    assert_eq!(quick.status(), StatusCode::OK);
    assert_eq!(gauge(&registry, "http_requests_in_flight"), 0.0);
}

#[actix_web::test]
async fn a_body_still_moving_at_its_deadline_gets_408_and_its_connection_closed() {
    let registry = prometheus::Registry::new();
    let mut settings = one_slot();
    settings.body_deadline = Duration::from_millis(500);
    let app = app(settings, &registry, &Arc::new(Notify::new())).await;

    // 20 bytes, one every 100 ms: never idle for 300 ms, but 2 s in all.
    let started = Instant::now();
    let body = trickle(Duration::from_millis(100), 20);
    let response = test::call_service(&app, upload(Some(20), body)).await;
    let waited = started.elapsed();

    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(
        (Duration::from_millis(500)..Duration::from_millis(1_500)).contains(&waited),
        "cut off after {waited:?}"
    );
    assert!(!response.response().head().keep_alive());
    let body = json_of(response).await;
    assert_eq!(body["code"], "request_timeout", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("time allowed"),
        "{body}"
    );
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413_before_a_slot_is_taken_declared_or_streamed() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let app = app(one_slot(), &registry, &release).await;
    // The only slot is busy: a 413 shows the body was refused without one.
    let mut held = pin!(test::call_service(&app, get("/held")));
    assert!(still_waiting(held.as_mut()).await);

    let declared = upload(Some(70 * 1024), Box::pin(stream::pending()));
    let chunks = stream::iter((0..70).map(|_| Ok(Bytes::from(vec![b'x'; 1024]))));
    let streamed = upload(None, Box::pin(chunks));
    for request in [declared, streamed] {
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!response.response().head().keep_alive());
        let body = json_of(response).await;
        assert_eq!(body["code"], "payload_too_large", "{body}");
    }
    release.notify_one();
    assert_eq!(held.await.status(), StatusCode::OK);
}

fn login(account_id: &str) -> actix_http::Request {
    test::TestRequest::post()
        .uri("/auth/login")
        .set_json(json!({"account_id": account_id, "app_secret": "sk_wrong"}))
        .to_request()
}

#[actix_web::test]
async fn a_flood_of_slow_logins_is_refused_on_its_own_and_other_calls_are_still_served() {
    let registry = prometheus::Registry::new();
    let release = Arc::new(Notify::new());
    let app = app(one_slot(), &registry, &release).await;

    // Two logins waiting (for the throttle, for argon2) fill the login lane…
    let mut first = pin!(test::call_service(&app, login("an-account")));
    let mut second = pin!(test::call_service(&app, login("an-account")));
    assert!(still_waiting(first.as_mut()).await);
    assert!(
        still_waiting(second.as_mut()).await,
        "the second login was refused: the first took a slot of the whole API"
    );
    assert_eq!(gauge(&registry, "http_logins_in_flight"), 2.0);

    // …so a third is refused at once, in its own words…
    let third = test::call_service(&app, login("an-account")).await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(third.headers().get(header::RETRY_AFTER).unwrap(), "1");
    assert_eq!(json_of(third).await["code"], "logins_busy");

    // …while an ordinary authenticated call still gets the general slot.
    let refresh = test::TestRequest::get()
        .uri("/auth/refresh-token")
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .to_request();
    let refreshed = test::call_service(&app, refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);

    release.notify_waiters();
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(gauge(&registry, "http_logins_in_flight"), 0.0);
}
