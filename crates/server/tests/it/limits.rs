//! The load limits in the running application: beyond them a request is refused with
//! 503 and `Retry-After` (and counted in `/metrics`), the operations endpoints are still
//! answered, and a request body that stalls is answered 408 once BODY_READ_TIMEOUT_MS
//! passes without a byte.

use std::time::{Duration, Instant};

use testkit::TestPostgres;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{bridge_ok, start_on_postgres_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_its_limits_the_service_refuses_with_503_and_cuts_off_stalled_bodies() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_ok().await;
    let app = start_on_postgres_with(
        &db,
        &bridge,
        &[
            "--max-in-flight-requests=1",
            "--max-queued-requests=0",
            "--body-read-timeout-ms=400",
        ],
    )
    .await;
    let token = app.token().await;

    // A customer whose body stops after a few bytes holds the only processing slot.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stalled = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /customer HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"customer_name\": "
    );
    let started = Instant::now();
    stalled.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let refused = app
        .client
        .get(format!("{}/customers", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "service_unavailable", "{body}");
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let mut answer = Vec::new();
    stalled.read_to_end(&mut answer).await.unwrap();
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        waited >= Duration::from_millis(400),
        "cut off after {waited:?}"
    );

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
