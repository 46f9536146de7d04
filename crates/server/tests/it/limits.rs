//! The load limits in the running application: beyond them a request is refused with 503,
//! `Retry-After` and the security headers (and counted in `/metrics`) while the operations
//! endpoints are still answered; request bodies that trickle in hold no processing slot and
//! are cut off at BODY_READ_DEADLINE_MS; a body that stalls is cut off once
//! BODY_READ_TIMEOUT_MS passes without a byte.

use std::time::{Duration, Instant};

use testkit::TempSqlite;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::helpers::{
    answer_until_closed, bridge_link, seed_body, start_on_postgres_with, TestApp, SECRET,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_its_limits_the_service_refuses_with_503_and_the_security_headers() {
    let Some(db) = testkit::TestPostgres::create() else {
        return;
    };
    // Bridge answers after a second, so that one customer being created holds the only slot.
    let bridge = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v0/kyc_links"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(bridge_link())
                .set_delay(Duration::from_secs(1)),
        )
        .mount(&bridge)
        .await;
    let app = start_on_postgres_with(
        &db,
        &bridge,
        &[
            "--max-in-flight-requests=1",
            "--max-queued-requests=0",
            "--kyc-timeout-ms",
            "5000",
        ],
    )
    .await;
    let token = app.token().await;

    let customer = seed_body();
    let slow = app.post_customer(&token, &customer);
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = app
            .client
            .get(format!("{}/customers", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let health = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        (refused, health.status().as_u16())
    };
    let ((created, body), (refused, health)) = tokio::join!(slow, meanwhile);
    assert_eq!(created, 201, "{body}");
    assert_eq!(health, 200);

    assert_eq!(refused.status().as_u16(), 503);
    let headers = refused.headers();
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        headers["content-security-policy"],
        api::hardening::DEFAULT_CONTENT_SECURITY_POLICY
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "service_unavailable", "{body}");

    // The slot is free again, and the refusal was counted.
    let (status, _) = app.get(&token, "/customers").await;
    assert_eq!(status, 200);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("http_requests_refused_total{reason=\"queue_full\"} 1"),
        "{metrics}"
    );
}

/// Opens a connection and sends the head of `POST path` announcing a JSON body of `length`
/// bytes, and `first` bytes of it.
async fn start_body(
    app: &TestApp,
    token: &str,
    path: &str,
    length: usize,
    first: &[u8],
) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

/// The app on SQLite with the sandbox provider and `extra` settings.
async fn sqlite_app(data: &TempSqlite, extra: &[&str]) -> TestApp {
    let mut args: Vec<String> = vec![
        "--data-dir".into(),
        data.dir().to_str().unwrap().into(),
        "--jwt-secret".into(),
        SECRET.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    TestApp::start(&args).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_trickling_in_hold_no_slot_and_are_cut_off_at_their_deadline() {
    let data = TempSqlite::new();
    let app = sqlite_app(
        &data,
        &[
            "--max-in-flight-requests=2",
            "--max-queued-requests=0",
            "--body-read-timeout-ms=1000",
            "--body-read-deadline-ms=2500",
        ],
    )
    .await;
    let token = app.token().await;

    // Four times as many clients as slots, each sending a customer body one byte every
    // 250 ms: never silent long enough for the idle rule.
    let started = Instant::now();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..8 {
        let stream = start_body(&app, &token, "/customer", 300, b"{").await;
        let (reader, mut writer) = stream.into_split();
        readers.push(reader);
        writers.push(tokio::spawn(async move {
            for _ in 0..299 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if writer.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;

    // The rest of the API is served meanwhile.
    let (status, body) = app.get(&token, "/customers").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{body}");
    assert!(started.elapsed() < Duration::from_millis(2500));

    // Each trickling body is cut off at its deadline, however steadily it moved.
    for reader in &mut readers {
        let answer = answer_until_closed(reader, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
        assert!(answer.contains("time allowed"), "{answer}");
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "cut off after {waited:?}"
    );
    for writer in writers {
        writer.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_off_once_it_has_been_silent_for_the_idle_time() {
    let data = TempSqlite::new();
    let app = sqlite_app(&data, &["--body-read-timeout-ms=400"]).await;
    let token = app.token().await;

    let started = Instant::now();
    let mut stalled = start_body(&app, &token, "/customer", 200, b"{\"customer_name\": ").await;
    let answer = answer_until_closed(&mut stalled, Duration::from_secs(5)).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    assert!(
        waited >= Duration::from_millis(400),
        "cut off after {waited:?}"
    );
}
