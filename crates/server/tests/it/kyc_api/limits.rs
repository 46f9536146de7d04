//! The limits of `POST /customer/{id}/kyc` over real TCP connections: a body over the limit
//! is refused from its declared length, submissions beyond the permits get `503` and
//! `Retry-After` while their bodies are never read, a stalled body gets `408`, and the
//! route's own idle time governs its body, longer or shorter than the service-wide one.

use std::time::{Duration, Instant};

use base64::Engine as _;
use testkit::TempSqlite;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::{new_customer, sandbox_app};
use crate::helpers::{answer_head, answer_until_closed, seed_body};

/// Opens a connection and sends the head of a submission of `length` bytes and `first`
/// bytes of its body, then nothing more.
async fn start_upload(
    address: &str,
    token: &str,
    customer: &str,
    length: usize,
    first: &[u8],
) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /customer/{customer}/kyc HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

#[tokio::test]
async fn beyond_the_permits_uploads_get_503_at_once_and_a_stalled_one_408() {
    let data = TempSqlite::new();
    let app = sandbox_app(
        &data,
        &[
            "--kyc-max-concurrent-submissions=1",
            "--kyc-body-idle-timeout-ms=1500",
            "--kyc-body-limit-bytes=1048576",
        ],
    )
    .await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "limits@example.com").await;

    // Holds the only permit: 500 KB announced, 10 bytes sent, then silence.
    let mut holder = start_upload(&app.address, &token, &customer, 500_000, b"{\"first_n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Announces a body and sends none of it: answered at once, so its body was never read.
    let started = Instant::now();
    let mut refused = start_upload(&app.address, &token, &customer, 500_000, b"").await;
    let head = answer_head(&mut refused, Duration::from_secs(1)).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );

    // Over the limit by its declared length: 413, also without reading.
    let mut oversized = start_upload(&app.address, &token, &customer, 2_000_000, b"").await;
    let head = answer_head(&mut oversized, Duration::from_secs(1)).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // The holder's body stalled: 408 after the idle timeout, and the permit is free again.
    let head = answer_head(&mut holder, Duration::from_secs(5)).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    let (status, body) = super::send(
        &app,
        reqwest::Method::POST,
        &token,
        &format!("/customer/{customer}/kyc"),
        Some(&testkit::individual_submission_body()),
    )
    .await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn the_routes_own_idle_time_governs_a_kyc_body_even_when_longer_than_the_global_one() {
    let data = TempSqlite::new();
    let app = sandbox_app(
        &data,
        &[
            "--kyc-body-idle-timeout-ms=3000",
            "--body-read-timeout-ms=1000",
            "--body-read-deadline-ms=1500",
        ],
    )
    .await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "idle@example.com").await;

    // A submission of some MiB (a large passport image) paused for 2 s half-way: longer
    // than the service-wide idle time, and longer in all than the ordinary routes' deadline.
    let mut submission = testkit::individual_submission_body();
    let mut image = b"\xFF\xD8\xFF\xE0".to_vec();
    image.resize(3_000_000, 0);
    submission["identifying_information"][1]["image_front"] = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&image)
    )
    .into();
    let body = serde_json::to_vec(&submission).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    let started = Instant::now();
    let mut upload = start_upload(&app.address, &token, &customer, body.len(), first).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    if let Err(e) = upload.write_all(rest).await {
        let answer = answer_until_closed(&mut upload, Duration::from_secs(1)).await;
        panic!("the upload was cut off during its pause ({e}); the answer: {answer}");
    }
    let head = answer_head(&mut upload, Duration::from_secs(10)).await;
    assert!(head.starts_with("HTTP/1.1 202"), "{head}");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // The same pause in a customer's body: 408 once the service-wide idle time has passed.
    let body = serde_json::to_vec(&seed_body()).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    let rest = rest.to_vec();
    let host = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /customer HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let resume = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = writer.write_all(&rest).await;
    });
    let answer = answer_until_closed(&mut reader, Duration::from_secs(5)).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(2)).contains(&waited),
        "cut off after {waited:?}"
    );
    resume.abort();
}
