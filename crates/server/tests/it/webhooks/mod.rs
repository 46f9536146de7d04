//! Outgoing webhooks end to end: the real application, local receivers (wiremock) whose
//! every request is verified with the Standard Webhooks reference library
//! (`standardwebhooks`, independent of our signing code), on PostgreSQL and — for the
//! real binary — SQLite.

mod delivery;
mod endpoints;
mod process;
mod startup;

use std::time::Duration;

use serde_json::{json, Value};
use testkit::TestPostgres;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{bridge_ok, eventually_async, start_on_postgres_with, TestApp};

/// Settings for an app whose receivers are local: plain http and loopback allowed, quick
/// polling, a short retry schedule and time limit.
pub const LOCAL_RECEIVERS: [&str; 9] = [
    "--webhook-allow-http",
    "--webhook-allow-private-networks",
    "--webhook-poll-interval-ms",
    "50",
    "--webhook-retry-schedule",
    "100ms,100ms",
    "--webhook-timeout-ms",
    "400",
    "--mail-poll-interval-ms=3600000",
];

/// The app on a fresh PostgreSQL database with `extra` settings, and the mocked Bridge it
/// calls (keep it alive as long as the app).
pub async fn app(db: &TestPostgres, extra: &[&str]) -> (TestApp, MockServer) {
    let bridge = bridge_ok().await;
    (start_on_postgres_with(db, &bridge, extra).await, bridge)
}

/// A receiver answering every POST to `/hook` with `answer`.
pub async fn receiver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// `METHOD path` with a bearer token and an optional JSON body; the status and body.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registers an endpoint at `receiver`'s `/hook`; its id and secret.
pub async fn register(
    app: &TestApp,
    token: &str,
    receiver: &MockServer,
    events: Value,
) -> (String, String) {
    let (status, body) = call(
        app,
        reqwest::Method::POST,
        token,
        "/webhook-endpoints",
        Some(json!({"url": format!("{}/hook", receiver.uri()), "events": events})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["data"]["id"].as_str().unwrap().to_owned(),
        body["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

/// A customer created for `token`'s account with a distinct address; its `data`.
pub async fn create_customer(app: &TestApp, token: &str, n: usize) -> Value {
    let mut body = crate::helpers::seed_body();
    body["customer_email"] = json!(format!("hook{n}@example.com"));
    let (status, body) = app.post_customer(token, &body).await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

/// Whether the reference library accepts `request` as signed with `secret`.
pub fn verifies(request: &wiremock::Request, secret: &str) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&request.body, &request.headers)
        .is_ok()
}

/// The requests `receiver` has had.
pub async fn received(receiver: &MockServer) -> Vec<wiremock::Request> {
    receiver.received_requests().await.unwrap_or_default()
}

/// Waits until `receiver` has had `n` requests (up to 10 s); then what it had.
pub async fn wait_for(receiver: &MockServer, n: usize) -> Vec<wiremock::Request> {
    eventually_async(Duration::from_secs(10), || async {
        received(receiver).await.len() >= n
    })
    .await;
    received(receiver).await
}

/// The endpoint's deliveries.
pub async fn deliveries(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let (status, body) = app
        .get(token, &format!("/webhook-endpoints/{endpoint}/deliveries"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// Waits until the endpoint's newest delivery is `status` (up to 10 s); that delivery.
pub async fn settled_delivery(app: &TestApp, token: &str, endpoint: &str, status: &str) -> Value {
    eventually_async(Duration::from_secs(10), || async {
        deliveries(app, token, endpoint)
            .await
            .first()
            .is_some_and(|d| d["status"] == status)
    })
    .await;
    let newest = deliveries(app, token, endpoint).await;
    assert_eq!(newest[0]["status"], status, "{newest:?}");
    newest[0].clone()
}
