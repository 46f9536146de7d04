//! KYC mail end to end: the outbox, the worker and the SMTP and file transports.

use std::time::Duration;

use serde_json::json;
use testkit::{SmtpSink, TempSqlite, TestPostgres};

use crate::helpers::{
    bridge_link, bridge_ok, eventually, mail_status, seed_body, start_on_postgres_with, TestApp,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const FAST_MAIL: [&str; 4] = [
    "--mail-poll-interval-ms",
    "50",
    "--mail-retry-base-ms",
    "100",
];

fn with_smtp<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--smtp-url", url];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn creating_a_customer_delivers_exactly_one_mail_with_both_links() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = start_on_postgres_with(&db, &bridge_ok().await, &with_smtp(&url, &FAST_MAIL)).await;

    let (status, body) = app.post_customer(&app.token().await, &seed_body()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["kyc_mail_status"], "queued");

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec!["tbash7676@gmail.com"]);
    let message = mail_parser::MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains(bridge_link()["kyc_link"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.contains(bridge_link()["tos_link"].as_str().unwrap()),
        "{text}"
    );

    assert!(
        eventually(Duration::from_secs(5), || mail_status(
            &db,
            "tbash7676@gmail.com"
        ) == "sent")
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1, "the mail was sent more than once");
}

#[tokio::test]
async fn send_kyc_mail_false_sends_nothing() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = start_on_postgres_with(&db, &bridge_ok().await, &with_smtp(&url, &FAST_MAIL)).await;
    let mut body = seed_body();
    body["send_kyc_mail"] = json!(false);

    let (status, body) = app.post_customer(&app.token().await, &body).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["kyc_mail_status"], "not_requested");

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(sink.received().is_empty());
    assert_eq!(mail_status(&db, "tbash7676@gmail.com"), "not_requested");
}

#[tokio::test]
async fn a_mail_that_failed_while_smtp_was_down_is_delivered_when_it_comes_back() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = start_on_postgres_with(&db, &bridge_ok().await, &with_smtp(&url, &FAST_MAIL)).await;

    assert_eq!(
        app.post_customer(&app.token().await, &seed_body()).await.0,
        201
    );
    // Let at least one attempt fail against the closed port.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mail_status(&db, "tbash7676@gmail.com"), "queued");

    let sink = SmtpSink::start_on(port).await;
    let received = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    assert!(
        eventually(Duration::from_secs(5), || mail_status(
            &db,
            "tbash7676@gmail.com"
        ) == "sent")
        .await
    );
}

#[tokio::test]
async fn a_server_stopped_between_commit_and_send_delivers_after_restart() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let bridge = bridge_ok().await;
    // The first instance polls so rarely that it stops before it ever sends.
    let first = start_on_postgres_with(
        &db,
        &bridge,
        &with_smtp(&url, &["--mail-poll-interval-ms", "3600000"]),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        first
            .post_customer(&first.token().await, &seed_body())
            .await
            .0,
        201
    );
    first.handle.stop(true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sink.received().is_empty());

    let _second = start_on_postgres_with(&db, &bridge, &with_smtp(&url, &FAST_MAIL)).await;
    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    assert!(
        eventually(Duration::from_secs(5), || mail_status(
            &db,
            "tbash7676@gmail.com"
        ) == "sent")
        .await
    );
}

#[tokio::test]
async fn with_no_configuration_the_mail_lands_as_an_eml_file_in_the_data_directory() {
    let data = TempSqlite::new();
    let args = vec![
        "--data-dir".to_owned(),
        data.dir().to_str().unwrap().to_owned(),
        "--mail-poll-interval-ms".to_owned(),
        "50".to_owned(),
    ];
    let app = TestApp::start(&args).await.unwrap();
    let token = app.token().await;

    let (status, body) = app.post_customer(&token, &seed_body()).await;
    assert_eq!(status, 201, "{body}");
    let kyc_link = body["data"]["kyc_link"].as_str().unwrap().to_owned();

    let mail_dir = data.dir().join("mail");
    let eml = || {
        std::fs::read_dir(&mail_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert!(
        eventually(Duration::from_secs(10), || eml().len() == 1).await,
        "no .eml file in {mail_dir:?}"
    );
    let raw = std::fs::read(&eml()[0]).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(message.body_text(0).unwrap().contains(&kyc_link));
}
