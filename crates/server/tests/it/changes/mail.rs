//! The KYC mail around a change of address and an erasure, over a real SMTP conversation:
//! the mail waits in the outbox while the SMTP server is down, the change or erasure
//! happens, then the server comes back.

use std::time::Duration;

use serde_json::json;
use testkit::{SmtpSink, TestPostgres};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use super::{bridge_by_address, fresh_link, send};
use crate::helpers::{mail_status, start_on_postgres_with, TestApp};

const FAST_MAIL: [&str; 4] = [
    "--mail-poll-interval-ms",
    "50",
    "--mail-retry-base-ms",
    "100",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app with its SMTP server down (nothing listens on `port` yet).
async fn app_with_smtp_down(
    db: &TestPostgres,
    bridge: &wiremock::MockServer,
    port: u16,
) -> TestApp {
    let url = format!("smtp://127.0.0.1:{port}");
    let mut args = vec!["--smtp-url", url.as_str()];
    args.extend_from_slice(&FAST_MAIL);
    start_on_postgres_with(db, bridge, &args).await
}

fn customer(email: &str) -> serde_json::Value {
    json!({"customer_name": "Ada Lovelace", "customer_email": email,
        "customer_phone": "+14155552671", "customer_country": "US"})
}

#[tokio::test]
async fn a_delete_while_the_kyc_mail_is_queued_sends_no_mail() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_by_address(&[
        ("erased@example.com", "kyc_link_e"),
        ("kept@example.com", "kyc_link_k"),
    ])
    .await;
    let port = free_port();
    let app = app_with_smtp_down(&db, &bridge, port).await;
    let token = app.token().await;
    let (status, erased) = app
        .post_customer(&token, &customer("erased@example.com"))
        .await;
    assert_eq!(status, 201, "{erased}");
    let (status, kept) = app
        .post_customer(&token, &customer("kept@example.com"))
        .await;
    assert_eq!(status, 201, "{kept}");
    // Let an attempt fail against the closed port: both mails wait in the outbox.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mail_status(&db, "erased@example.com"), "queued");

    let path = format!("/customer/{}", erased["data"]["id"].as_str().unwrap());
    let deleted = send(&app, reqwest::Method::DELETE, &path, &token, None, None).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");

    let sink = SmtpSink::start_on(port).await;
    // The other customer's mail shows the outbox is running again…
    let received = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["kept@example.com"]);
    // …and the erased customer's never comes, however long the retries run.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = sink.received();
    assert!(
        received
            .iter()
            .all(|m| !m.rcpt_to.iter().any(|to| to == "erased@example.com")),
        "a mail went to the erased customer: {received:?}"
    );
    assert_eq!(received.len(), 1);
}

#[tokio::test]
async fn a_new_address_while_the_first_mail_is_queued_gets_new_links_and_the_only_mail() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let bridge = bridge_by_address(&[("old@example.com", "kyc_link_old")]).await;
    let port = free_port();
    let app = app_with_smtp_down(&db, &bridge, port).await;
    let token = app.token().await;
    let (status, created) = app
        .post_customer(&token, &customer("old@example.com"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["kyc_status"], "not_started");
    // The new address's link, asked for under a key of its own (the customer and the
    // version the change makes), so that a retry of the change gets the same link.
    Mock::given(method("POST"))
        .and(path("/v0/kyc_links"))
        .and(header(
            "Idempotency-Key",
            format!("customer-{id}-v2").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fresh_link("kyc_link_new", "new@example.com")),
        )
        .expect(1)
        .mount(&bridge)
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mail_status(&db, "old@example.com"), "queued");

    let body = json!({"customer_email": "new@example.com"});
    let path = format!("/customer/{id}");
    let changed = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &token,
        Some("\"1\""),
        Some(&body),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.etag.as_deref(), Some("\"2\""));
    let new_link = fresh_link("kyc_link_new", "new@example.com");
    assert_eq!(changed.body["data"]["email"], "new@example.com");
    assert_eq!(changed.body["data"]["kyc_link"], new_link["kyc_link"]);
    assert_eq!(changed.body["data"]["kyc_mail_status"], "queued");

    let sink = SmtpSink::start_on(port).await;
    let received = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["new@example.com"]);
    let message = mail_parser::MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    assert_eq!(
        message.message_id(),
        Some(format!("kyc.{id}.v2@customer-onboarding").as_str())
    );
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains(new_link["kyc_link"].as_str().unwrap()),
        "{text}"
    );
    // The mail for the old address was cancelled, not merely delayed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received().len(), 1, "{:?}", sink.received());
}
