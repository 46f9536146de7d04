//! The limits of `POST /customer/{id}/kyc` over real TCP connections: a body over the limit
//! is refused from its declared length, submissions beyond the permits get `503` and
//! `Retry-After` while their bodies are never read, and a stalled body gets `408`.

use std::time::{Duration, Instant};

use testkit::TempSqlite;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::{new_customer, sandbox_app};

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

/// The status line and headers the server answered with, read until they are complete.
async fn answer_head(stream: &mut TcpStream, within: Duration) -> String {
    let read = async {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server should have answered by now")
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
