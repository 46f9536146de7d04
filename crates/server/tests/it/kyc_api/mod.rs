//! KYC by API on the running application: the terms-of-service round trip, submissions
//! and their outcomes on the sandbox (SQLite) and on Bridge (PostgreSQL), the route's
//! limits over real connections, and — on both stores — a dump of the database that must
//! hold no identity number, birth date or image of what was submitted.

mod bridge;
mod limits;
mod sandbox;

use serde_json::Value;
use testkit::TempSqlite;

use crate::helpers::{seed_body, TestApp, SECRET};

/// The zero-configuration app (SQLite, sandbox) with a known secret, and `extra` settings.
pub(super) async fn sandbox_app(data: &TempSqlite, extra: &[&str]) -> TestApp {
    let mut args: Vec<String> = vec![
        "--data-dir".into(),
        data.dir().to_str().unwrap().into(),
        "--jwt-secret".into(),
        SECRET.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    TestApp::start(&args).await.unwrap()
}

/// `method path` with `token` and an optional JSON body; the status and the body (JSON, or
/// the text when it is not JSON).
pub(super) async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A new customer of the token's account; its id.
pub(super) async fn new_customer(app: &TestApp, token: &str, email: &str) -> String {
    let mut body = seed_body();
    body["customer_email"] = email.into();
    let (status, created) = app.post_customer(token, &body).await;
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_str().unwrap().to_owned()
}

/// What a submission must never leave behind: its identity numbers, birth date and image.
pub(crate) fn secrets_of(submission: &Value) -> Vec<String> {
    let image = submission["identifying_information"][1]["image_front"]
        .as_str()
        .unwrap();
    let base64 = image.split_once(',').unwrap().1;
    vec![
        testkit::SUBMITTED_SSN.to_owned(),
        "123-45-6789".to_owned(),
        testkit::SUBMITTED_PASSPORT_NUMBER.to_owned(),
        testkit::SUBMITTED_BIRTH_DATE.to_owned(),
        testkit::IMAGE_MARKER.to_owned(),
        base64[..40].to_owned(),
    ]
}

/// Fails naming the first secret found in `haystack` (where it was found: `what`).
pub(super) fn assert_none_in(haystack: &[u8], secrets: &[String], what: &str) {
    let text = String::from_utf8_lossy(haystack);
    assert!(!text.is_empty(), "{what} is empty: nothing was checked");
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains {secret:?}"
        );
    }
}

/// Every byte of the SQLite database in `data` (the file and its write-ahead log).
pub(super) fn sqlite_bytes(data: &TempSqlite) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["customers.db", "customers.db-wal"] {
        if let Ok(more) = std::fs::read(data.dir().join(name)) {
            bytes.extend(more);
        }
    }
    bytes
}

/// The body of the README's `curl … /customer/$CUSTOMER_ID/kyc` example.
fn readme_example() -> Value {
    let readme = include_str!("../../../../../README.md");
    let section = readme
        .split_once("### KYC by API")
        .expect("the README has a KYC by API section")
        .1;
    let start = section
        .find("/kyc \\")
        .expect("the section has a curl to /customer/{id}/kyc");
    let body = section[start..].split_once("-d '").unwrap().1;
    let body = body.split_once("'\n").unwrap().0;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("the README's body is not JSON: {e}"))
}

#[tokio::test]
async fn the_readme_example_is_accepted_by_the_zero_config_sandbox() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "readme@example.com").await;
    accept_terms(&app, &token, &customer).await;
    let (status, submitted) = submit_readme_example(&app, &token, &customer).await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["data"]["kyc_status"], "under_review");
    assert_eq!(submitted["data"]["tos_status"], "approved");
}

/// Accepts the customer's terms through the sandbox's page, as a browser would: the page
/// sends the browser on to `/tos/complete`.
async fn accept_terms(app: &TestApp, token: &str, customer: &str) {
    let (status, link) = send(
        app,
        reqwest::Method::POST,
        token,
        &format!("/customer/{customer}/tos-link"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let page = app
        .client
        .get(link["data"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Thank you"));
}

/// `POST /customer/{id}/kyc` with the README's example body.
async fn submit_readme_example(app: &TestApp, token: &str, customer: &str) -> (u16, Value) {
    send(
        app,
        reqwest::Method::POST,
        token,
        &format!("/customer/{customer}/kyc"),
        Some(&readme_example()),
    )
    .await
}

#[tokio::test]
async fn a_new_address_asks_for_the_terms_again_and_says_so_in_the_kyc_history() {
    let data = TempSqlite::new();
    let app = sandbox_app(&data, &[]).await;
    let token = app.token().await;
    let customer = new_customer(&app, &token, "old.address@example.com").await;
    accept_terms(&app, &token, &customer).await;

    let (status, changed) = send(
        &app,
        reqwest::Method::PUT,
        &token,
        &format!("/customer/{customer}"),
        Some(&serde_json::json!({"customer_email": "new.address@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["tos_status"], "pending", "{changed}");

    // The change of terms status is in the history, like every other.
    let (status, kyc) = send(
        &app,
        reqwest::Method::GET,
        &token,
        &format!("/customer/{customer}/kyc"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{kyc}");
    // (Both may fall in the same millisecond, so their order is not asserted.)
    let history = kyc["data"]["history"].as_array().unwrap();
    let mut sources: Vec<&str> = history
        .iter()
        .map(|h| h["source"].as_str().unwrap())
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["api", "tos_redirect"], "{kyc}");
    let relinked = history.iter().find(|h| h["source"] == "api").unwrap();
    assert_eq!(relinked["tos_status"], "pending");
    assert_eq!(relinked["from"], "not_started");
    assert_eq!(relinked["to"], "not_started");

    // The terms accepted under the old address do not carry a submission any more…
    let (status, refused) = submit_readme_example(&app, &token, &customer).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.to_string().contains("signed_agreement_id"),
        "{refused}"
    );
    // …the new link's do.
    accept_terms(&app, &token, &customer).await;
    let (status, submitted) = submit_readme_example(&app, &token, &customer).await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["data"]["tos_status"], "approved");
}
