//! The limits of `POST /customer/{id}/kyc`: its own body limit (`413`), a fixed number of
//! submissions at once with the permit taken before the body is read (`503` and
//! `Retry-After`), an idle timeout on the body (`408`), and the token checked before a
//! permit is taken.

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web::Bytes;
use api::kyc::KycUploadLimits;
use futures_util::{stream, StreamExt as _};
use serde_json::json;

use crate::kyc_submit::{post_kyc, CUSTOMER};
use crate::support::{app, assert_error_shape, call, reply, token, Ports};

fn limited(body_limit: usize, permits: usize, idle: Duration) -> Ports {
    Ports {
        upload_limits: KycUploadLimits::new(body_limit, permits, idle),
        ..Ports::new()
    }
}

/// A request whose body sends `first` and then nothing more, ever.
fn stalled_request(first: &'static [u8]) -> actix_http::Request {
    let request = TestRequest::post()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CONTENT_LENGTH, "100"))
        .to_request();
    let chunks = stream::iter([Ok::<_, actix_web::error::PayloadError>(Bytes::from_static(
        first,
    ))])
    .chain(stream::pending());
    request
        .replace_payload(Payload::from(
            Box::pin(chunks) as std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>>
        ))
        .0
}

#[actix_web::test]
async fn a_body_over_the_routes_limit_is_413_whether_declared_or_streamed() {
    let big = json!({"first_name": "x".repeat(4096)});
    let declared = call(limited(2048, 4, Duration::from_secs(5)), post_kyc(&big)).await;
    assert_error_shape(
        &declared,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert!(
        declared.body["error"].as_str().unwrap().contains("2048"),
        "{}",
        declared.body
    );

    // Without a Content-Length the extractor stops reading at the limit.
    let app = app(limited(2048, 4, Duration::from_secs(5))).await;
    let request = TestRequest::post()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .to_request();
    let chunks = stream::iter(
        (0..8).map(|_| Ok::<_, actix_web::error::PayloadError>(Bytes::from(vec![b' '; 1024]))),
    );
    let (request, _) = request.replace_payload(Payload::from(
        Box::pin(chunks) as std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>>
    ));
    let streamed = reply(test::call_service(&app, request).await).await;
    assert_error_shape(
        &streamed,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

#[actix_web::test]
async fn a_body_the_other_routes_would_refuse_is_read_here() {
    // 100 KiB of padding: over the 64 KiB of every other route, within this one's limit.
    let mut body = testkit::individual_submission_body();
    body["first_name"] = json!(format!("Ada{}", "a".repeat(100 * 1024)));
    let checked = call(
        limited(1024 * 1024, 4, Duration::from_secs(5)),
        post_kyc(&body),
    )
    .await;
    // Refused for the name's length, which means the body was read and checked.
    assert_error_shape(&checked, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        checked.body["details"]["first_name"].is_string(),
        "{}",
        checked.body
    );
}

#[actix_web::test]
async fn beyond_the_permits_a_submission_is_503_before_its_body_is_read() {
    let app = app(limited(1024 * 1024, 1, Duration::from_millis(300))).await;
    // The first request takes the only permit and stalls in its body; the second, whose
    // body never arrives at all, is answered at once: its body was never read.
    let holder = test::call_service(&app, stalled_request(b"{\"first_name\""));
    let refused = async {
        tokio::task::yield_now().await;
        test::call_service(&app, stalled_request(b"")).await
    };
    let started = std::time::Instant::now();
    let (held, refused) = futures_util::future::join(holder, refused).await;
    let refused = reply(refused).await;
    assert_error_shape(
        &refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "kyc_submissions_busy",
    );
    assert_eq!(refused.headers.get(header::RETRY_AFTER).unwrap(), "1");

    // The holder's body stalled: 408 once the idle timeout passed, and its permit is back.
    let held = reply(held).await;
    assert_error_shape(&held, StatusCode::REQUEST_TIMEOUT, "request_timeout");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let again = reply(test::call_service(&app, stalled_request(b"[")).await).await;
    assert_error_shape(&again, StatusCode::REQUEST_TIMEOUT, "request_timeout");
}

#[actix_web::test]
async fn a_slow_but_steady_body_is_not_cut_off() {
    let app = app(limited(1024 * 1024, 1, Duration::from_millis(200))).await;
    let request = TestRequest::post()
        .uri(&format!("/customer/{CUSTOMER}/kyc"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {}", token())))
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .to_request();
    // Six chunks 100 ms apart: 600 ms in all, never 200 ms of silence.
    let chunks = stream::unfold(0, |i| async move {
        if i == 6 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let chunk = if i == 0 {
            "{"
        } else if i == 5 {
            "}"
        } else {
            " "
        };
        Some((
            Ok::<_, actix_web::error::PayloadError>(Bytes::from(chunk)),
            i + 1,
        ))
    });
    let (request, _) = request.replace_payload(Payload::from(
        Box::pin(chunks) as std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>>
    ));
    let checked = reply(test::call_service(&app, request).await).await;
    // `{}` arrived whole and was checked: it lacks every required field.
    assert_error_shape(&checked, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        checked.body["details"]["first_name"].is_string(),
        "{}",
        checked.body
    );
}

#[actix_web::test]
async fn a_request_without_a_valid_token_never_holds_a_permit() {
    let limits = KycUploadLimits::new(1024 * 1024, 1, Duration::from_secs(5));
    let ports = Ports {
        upload_limits: limits.clone(),
        ..Ports::new()
    };
    let app = app(ports).await;
    let mut request = stalled_request(b"{");
    request.headers_mut().remove(header::AUTHORIZATION);
    let refused = reply(test::call_service(&app, request).await).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(limits.available(), 1);
}
