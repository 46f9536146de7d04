//! Requests: header sizes on both sides of each limit, amplified error bodies, cache and
//! framing headers, and loose input.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use testkit::TempSqlite;

use super::{app, login_from};
use crate::helpers::{seed_body, TestApp};

async fn with_headers(app: &TestApp, headers: &[(String, String)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/customers", app.address));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

async fn assert_431(response: reqwest::Response) {
    assert_eq!(response.status().as_u16(), 431);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "request_header_fields_too_large", "{body}");
}

#[tokio::test]
async fn oversized_headers_are_431_in_the_error_shape_below_actix_http_s_own_limit() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let authorization = |size: usize| {
        vec![(
            "authorization".to_owned(),
            format!("Bearer {}", "a".repeat(size - "Bearer ".len())),
        )]
    };
    let response = with_headers(&app, &authorization(16 * 1024)).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_431(with_headers(&app, &authorization(16 * 1024 + 1)).await).await;
    // The probe's 100 KB token, under actix-http's 128 KiB, is answered properly too.
    assert_431(with_headers(&app, &authorization(100_000)).await).await;

    let padding = |extra: usize| -> Vec<(String, String)> {
        (0..4)
            .map(|i| {
                let name = format!("x-pad-{i}");
                let size = 8 * 1024 - name.len() - if i == 0 { 200 } else { 0 } + extra;
                (name, "p".repeat(size))
            })
            .collect()
    };
    // Just under 32 KiB with reqwest's own few headers: served (401: no token).
    let response = with_headers(&app, &padding(0)).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_431(with_headers(&app, &padding(200)).await).await;
}

#[tokio::test]
async fn a_head_over_actix_http_s_limit_is_refused_without_a_hang() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "GET /customers HTTP/1.1\r\nHost: {address}\r\nX-Big: {}\r\n\r\n",
        "b".repeat(140_000)
    );
    let exchange = async {
        // The server may stop reading (and close) before everything is written.
        let _ = stream.write_all(head.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        answer
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the server should answer or close, not hang");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_body_of_7000_unknown_keys_gets_a_small_400_listing_20_and_counting_the_rest() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let token = app.token().await;
    let mut body = seed_body();
    for i in 0..7000 {
        body[format!("{i:x}")] = json!(0);
    }
    assert!(body.to_string().len() <= 64 * 1024);
    let response = app
        .client
        .post(format!("{}/customer", app.address))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let text = response.text().await.unwrap();
    assert!(text.len() < 4096, "{} bytes", text.len());
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["code"], "invalid_request");
    assert_eq!(answer["details"].as_object().unwrap().len(), 20);
    assert_eq!(
        answer["error"],
        "Invalid request (6980 more invalid fields not listed)"
    );
}

fn assert_not_cached(headers: &HeaderMap, what: &str) {
    assert_eq!(headers["cache-control"], "no-store", "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
}

#[tokio::test]
async fn tokens_and_customer_data_are_never_cached_and_the_docs_page_cannot_be_framed() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let (id, secret) = app.new_account().await;
    let login = login_from(&app.client, &app, &id.to_string(), &secret).await;
    assert_not_cached(login.headers(), "login");
    let token = login.json::<Value>().await.unwrap()["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad_login = login_from(&app.client, &app, &id.to_string(), "sk_guess").await;
    assert_not_cached(bad_login.headers(), "failed login");

    let created = app
        .client
        .post(format!("{}/customer", app.address))
        .bearer_auth(&token)
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_not_cached(created.headers(), "create");
    let customer = created.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/auth/refresh-token".to_owned(),
        format!("/customer/{customer}"),
        "/customers".to_owned(),
        format!("/customer/{}", uuid::Uuid::new_v4()),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_not_cached(response.headers(), &path);
    }

    let docs = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    let headers = docs.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let page = docs.text().await.unwrap();
    assert!(page.contains("/docs/swagger-initializer.js"), "{page}");
    assert!(
        !page.contains("SwaggerUIBundle("),
        "no inline script: {page}"
    );
}

async fn post_raw(app: &TestApp, token: &str, content_type: &str, body: String) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/customer", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn loose_input_is_refused_duplicate_keys_invisible_characters_ip_domains_and_charsets() {
    let data = TempSqlite::new();
    let app = app(&data, &[]).await;
    let token = app.token().await;

    let twice = r#"{"customer_name": "Eve", "customer_email": "eve@example.com",
        "customer_phone": "+14155552671", "customer_country": "USA",
        "customer_email": "mallory@example.com"}"#;
    let (status, body) = post_raw(&app, &token, "application/json", twice.into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_request");
    assert!(body["details"]["customer_email"].is_string(), "{body}");
    let response = app
        .client
        .post(format!("{}/auth/login", app.address))
        .header("content-type", "application/json")
        .body(r#"{"account_id": "a", "account_id": "b", "app_secret": "s"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["details"]["account_id"].is_string(), "{body}");

    for (name, email) in [
        ("Bob\u{202E}nhoJ", "x@[127.0.0.1]"),
        ("\u{2066}Eve\u{2069}", "x@b"),
        ("Ev\u{200B}e", "x@127.0.0.1"),
    ] {
        let mut customer = seed_body();
        customer["customer_name"] = json!(name);
        customer["customer_email"] = json!(email);
        let (status, body) = app.post_customer(&token, &customer).await;
        assert_eq!(status, 400, "{body}");
        let details = body["details"].as_object().unwrap();
        assert!(
            details.contains_key("customer_name") && details.contains_key("customer_email"),
            "{name:?} {email}: {body}"
        );
    }

    let seed = seed_body().to_string();
    for charset in ["latin1", "ISO-8859-1"] {
        let (status, body) = post_raw(
            &app,
            &token,
            &format!("application/json; charset={charset}"),
            seed.clone(),
        )
        .await;
        assert_eq!(status, 415, "{body}");
        assert_eq!(body["code"], "unsupported_media_type");
    }
    let (status, body) = post_raw(&app, &token, "application/json; charset=UTF-8", seed).await;
    assert_eq!(status, 201, "{body}");
    let mut other = seed_body();
    other["customer_email"] = json!("someone.else@example.com");
    let (status, body) = post_raw(&app, &token, "application/json", other.to_string()).await;
    assert_eq!(status, 201, "{body}");
}
