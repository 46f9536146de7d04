//! Every probe of the outside review (issue 16), replayed against the real application on
//! port 0 (and, for the log, the real binary): parallel logins, lock-out by a stranger, log
//! forging, `nbf`, oversized headers, amplified error bodies, caching and framing headers,
//! duplicate keys, invisible characters in names, e-mail domains and charsets.

mod logins;
mod requests;

use std::net::IpAddr;

use base64::Engine as _;
use serde_json::{json, Value};
use testkit::TempSqlite;

use crate::helpers::{TestApp, SECRET};

/// The zero-configuration app (SQLite, sandbox provider) with a known JWT secret.
pub(super) async fn app(data: &TempSqlite, extra: &[&str]) -> TestApp {
    let mut args: Vec<String> = vec![
        "--data-dir".into(),
        data.dir().to_str().unwrap().into(),
        "--jwt-secret".into(),
        SECRET.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    TestApp::start(&args).await.unwrap()
}

/// A client whose connections come from `ip` (any 127.x.y.z is this machine).
pub(super) fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

pub(super) async fn login_from(
    client: &reqwest::Client,
    app: &TestApp,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/auth/login", app.address))
        .json(&json!({"account_id": id, "app_secret": secret}))
        .send()
        .await
        .unwrap()
}

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token signed with the app's secret carrying exactly `claims`.
pub(super) fn token_with(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub(super) fn claims_for(account: uuid::Uuid) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": account.to_string(),
        "iat": now,
        "exp": now + 7200,
        "iss": "customer-onboarding",
        "aud": "customer-onboarding-api",
    })
}
