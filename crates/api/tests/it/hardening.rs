//! The fixes from the outside probe (issue 16) at the handler level: parallel logins, `nbf`,
//! oversized headers, capped error bodies, cache and framing headers, duplicate keys,
//! invisible characters in names, e-mail domains and charsets.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use api::sessions::{LoginThrottle, ThrottleSettings};
use async_trait::async_trait;
use domain::AccountId;
use ports::{AccountStatus, Authenticate, LoginError, MockAccountStatus};
use serde_json::json;

use crate::support::{
    account, assert_error_shape, call, claims, get, keys_with, post_customer, post_json, seed_body,
    send, signed, unreachable_use_case, Ports, Reply, SECRET,
};

/// Accepts one secret, after a pause long enough for parallel attempts to overlap.
struct SlowAuth;

#[async_trait]
impl Authenticate for SlowAuth {
    async fn login(&self, _account_id: &str, app_secret: &str) -> Result<AccountId, LoginError> {
        actix_web::rt::time::sleep(Duration::from_millis(30)).await;
        if app_secret == "sk_right" {
            Ok(account())
        } else {
            Err(LoginError::InvalidCredentials)
        }
    }
}

fn login(secret: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/auth/login")
        .peer_addr("192.0.2.7:40000".parse().unwrap())
        .set_json(json!({"account_id": account().to_string(), "app_secret": secret}))
}

#[actix_web::test]
async fn ten_parallel_correct_logins_all_succeed_and_parallel_guesses_still_meet_the_limit() {
    let auth: Arc<dyn Authenticate> = Arc::new(SlowAuth);
    let mut status = MockAccountStatus::new();
    status.expect_is_active().never();
    let status: Arc<dyn AccountStatus> = Arc::new(status);
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(api::hardening::guard))
            .app_data(web::Data::new(keys_with(SECRET)))
            .app_data(web::Data::from(auth))
            .app_data(web::Data::from(status))
            .app_data(web::Data::new(LoginThrottle::new(
                ThrottleSettings::default(),
            )))
            .configure(api::configure),
    )
    .await;

    let correct = (0..10).map(|_| test::call_service(&app, login("sk_right").to_request()));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(correct)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(statuses, vec![StatusCode::OK; 10]);

    // Ten parallel wrong guesses from one address: five are answered, the rest refused.
    let guesses = (0..10).map(|_| test::call_service(&app, login("sk_guess").to_request()));
    let mut statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
}

#[actix_web::test]
async fn a_token_not_valid_for_another_hour_is_401_and_one_valid_since_an_hour_ago_is_not() {
    let now = chrono::Utc::now().timestamp();
    let mut early = claims(7200);
    early["nbf"] = json!(now + 3600);
    let reply = call(
        Ports::new(),
        test::TestRequest::get()
            .uri("/auth/refresh-token")
            .insert_header((
                header::AUTHORIZATION,
                format!(
                    "Bearer {}",
                    signed(jsonwebtoken::Algorithm::HS256, &early, SECRET)
                ),
            )),
    )
    .await;
    assert_error_shape(&reply, StatusCode::UNAUTHORIZED, "invalid_token");

    let mut valid = claims(600);
    valid["nbf"] = json!(now - 3600);
    let reply = call(
        Ports::new(),
        test::TestRequest::get()
            .uri("/auth/refresh-token")
            .insert_header((
                header::AUTHORIZATION,
                format!(
                    "Bearer {}",
                    signed(jsonwebtoken::Algorithm::HS256, &valid, SECRET)
                ),
            )),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

async fn with_authorization(value: String) -> Reply {
    call(
        Ports::new(),
        test::TestRequest::get()
            .uri("/auth/refresh-token")
            .insert_header((header::AUTHORIZATION, value)),
    )
    .await
}

#[actix_web::test]
async fn an_authorization_header_over_16_kib_is_431_in_the_error_shape() {
    let at_limit = format!("Bearer {}", "a".repeat(16 * 1024 - 7));
    let reply = with_authorization(at_limit.clone()).await;
    assert_error_shape(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    let reply = with_authorization(at_limit + "a").await;
    assert_error_shape(
        &reply,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request_header_fields_too_large",
    );
    assert!(reply.body["error"].as_str().unwrap().contains("16384"));
    assert_eq!(
        reply.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
}

#[actix_web::test]
async fn request_headers_over_32_kib_in_all_are_431() {
    let request = |extra: usize| {
        let mut request = test::TestRequest::get().uri("/healthz");
        for i in 0..4 {
            let size = 7 * 1024 + if i == 0 { extra } else { 0 };
            request = request.insert_header((format!("x-pad-{i}"), "p".repeat(size)));
        }
        request
    };
    assert_eq!(call(Ports::new(), request(0)).await.status, StatusCode::OK);
    let reply = call(Ports::new(), request(5 * 1024)).await;
    assert_error_shape(
        &reply,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request_header_fields_too_large",
    );
}

#[actix_web::test]
async fn a_body_of_thousands_of_unknown_keys_gets_an_answer_listing_twenty() {
    let mut body = seed_body();
    // Short keys, so that 7 000 of them fit in the 64 KiB limit, as in the probe.
    for i in 0..7000 {
        body[format!("{i:x}")] = json!(0);
    }
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.body["details"].as_object().unwrap().len(), 20);
    assert_eq!(
        reply.body["error"],
        "Invalid request (6980 more invalid fields not listed)"
    );
    assert!(reply.body.to_string().len() < 4096, "{}", reply.body);
}

#[actix_web::test]
async fn every_response_has_nosniff_and_tokens_and_customer_data_are_never_cached() {
    let mut auth = ports::MockAuthenticate::new();
    auth.expect_login()
        .returning(|_, _| Err(LoginError::InvalidCredentials));
    let replies = [
        call(
            Ports {
                auth,
                ..Ports::new()
            },
            login("sk_x"),
        )
        .await,
        call(Ports::new(), get("/auth/refresh-token")).await,
        call(Ports::new(), get("/customer/not-an-id")).await,
        post_json(unreachable_use_case(), json!({})).await,
        call(Ports::new(), test::TestRequest::get().uri("/healthz")).await,
        call(Ports::new(), test::TestRequest::get().uri("/nowhere")).await,
    ];
    for reply in &replies {
        assert_eq!(
            reply.headers.get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        assert_eq!(
            reply.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff"
        );
        assert_eq!(reply.headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        let policy = reply.headers.get(header::CONTENT_SECURITY_POLICY).unwrap();
        assert_eq!(policy, "default-src 'none'; frame-ancestors 'none'");
    }
    let docs = call(Ports::new(), test::TestRequest::get().uri("/docs")).await;
    let policy = docs
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert_eq!(docs.headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    let asset = call(
        Ports::new(),
        test::TestRequest::get().uri("/docs/swagger-ui.css"),
    )
    .await;
    let cache = asset
        .headers
        .get(header::CACHE_CONTROL)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cache.contains("max-age"), "{cache}");
}

async fn post_raw(content_type: &str, body: &str) -> Reply {
    send(
        unreachable_use_case(),
        post_customer()
            .insert_header((header::CONTENT_TYPE, content_type))
            .set_payload(body.to_owned()),
    )
    .await
}

#[actix_web::test]
async fn a_key_given_twice_is_400_naming_it_at_any_depth() {
    let reply = post_raw(
        "application/json",
        r#"{"customer_email": "a@example.com", "customer_email": "b@example.com"}"#,
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        reply.body["details"],
        json!({"customer_email": "is given more than once in the body"})
    );
    let reply = post_raw("application/json", r#"{"customer_name": {"a": 1, "a": 2}}"#).await;
    assert_eq!(
        reply.body["details"],
        json!({"customer_name.a": "is given more than once in the body"})
    );
    let reply = call(
        Ports::new(),
        test::TestRequest::post()
            .uri("/auth/login")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(r#"{"account_id": "x", "app_secret": "a", "app_secret": "b"}"#),
    )
    .await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"]["app_secret"].is_string(),
        "{}",
        reply.body
    );
}

#[actix_web::test]
async fn a_charset_other_than_utf8_is_415_and_utf8_or_none_is_read() {
    let body = seed_body().to_string();
    for charset in ["latin1", "ISO-8859-1", "utf-16"] {
        let reply = post_raw(&format!("application/json; charset={charset}"), &body).await;
        assert_error_shape(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    let reply = call(
        Ports::new(),
        test::TestRequest::post()
            .uri("/auth/login")
            .insert_header((header::CONTENT_TYPE, "application/json; charset=latin1"))
            .set_payload(r#"{"account_id": "x", "app_secret": "a"}"#),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for content_type in ["application/json", "application/json; charset=UTF-8"] {
        let reply = send(
            crate::support::succeeding_use_case(),
            post_customer()
                .insert_header((header::CONTENT_TYPE, content_type))
                .set_payload(body.clone()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{content_type}: {}",
            reply.body
        );
    }
}

#[actix_web::test]
async fn names_with_invisible_formatting_and_addresses_at_ip_literals_or_dotless_domains_are_400() {
    let mut body = seed_body();
    body["customer_name"] = json!("Bob\u{202E}nhoJ");
    body["customer_email"] = json!("x@[127.0.0.1]");
    let reply = post_json(unreachable_use_case(), body).await;
    assert_error_shape(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["details"]["customer_name"]
            .as_str()
            .unwrap()
            .contains("invisible formatting"),
        "{}",
        reply.body
    );
    assert!(reply.body["details"]["customer_email"].is_string());
    for (name, email) in [
        ("Ev\u{200B}e", "x@b"),
        ("\u{2066}Eve\u{2069}", "x@127.0.0.1"),
    ] {
        let mut body = seed_body();
        body["customer_name"] = json!(name);
        body["customer_email"] = json!(email);
        let reply = post_json(unreachable_use_case(), body).await;
        let details = reply.body["details"].as_object().unwrap();
        assert!(
            details.contains_key("customer_name") && details.contains_key("customer_email"),
            "{}",
            reply.body
        );
    }
}
