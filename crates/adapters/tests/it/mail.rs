//! The mail transports: SMTP against a real SMTP conversation on loopback, and files.

use std::time::Duration;

use adapters::mail::{parse_from, FileMailer, SmtpMailer, SmtpSettings};
use domain::CustomerId;
use mail_parser::MessageParser;
use ports::{kyc_message_id, MailContent, MailError, Mailer, OutgoingMail};
use testkit::{SmtpSink, TempSqlite};
use uuid::Uuid;

/// What a KYC mail is made of, as the mail handler would hand it over.
struct KycMail {
    message_id: String,
    to: String,
    full_name: String,
    kyc_link: String,
    tos_link: String,
}

impl KycMail {
    fn mail(&self) -> OutgoingMail {
        OutgoingMail {
            message_id: self.message_id.clone(),
            to: self.to.clone(),
            content: MailContent::KycLinks {
                full_name: self.full_name.clone(),
                kyc_link: self.kyc_link.clone(),
                tos_link: self.tos_link.clone(),
            },
        }
    }
}

fn job() -> KycMail {
    let id = CustomerId(Uuid::new_v4());
    KycMail {
        message_id: kyc_message_id(id),
        to: "tbash7676@gmail.com".into(),
        full_name: "<script>alert('x')</script> Towoju".into(),
        kyc_link: "https://bridge.withpersona.com/verify?inquiry-template-id=itmpl_NtHYpb9AbEYCPxGo5iRbc9d2&fields[developer_id]=2da859f2-9764-48e6-92e6-dd9f6747801b&reference-id=7d5b9315-796e-4d4d-b771-1ee5997e4abf&redirect-uri=https%3A%2F%2Fexample.com%2F".into(),
        tos_link: "https://dashboard.bridge.xyz/accept-terms-of-service?customer_id=7d5b9315-796e-4d4d-b771-1ee5997e4abf&x=1".into(),
    }
}

fn smtp(url: String) -> SmtpMailer {
    SmtpMailer::new(SmtpSettings {
        url,
        from: parse_from("KYC <kyc@onboarding.test>").unwrap(),
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

/// Checks a raw message: headers, both parts, both links exactly, the name escaped.
fn assert_kyc_message(raw: &[u8], job: &KycMail) {
    let message = MessageParser::default().parse(raw).unwrap();
    assert_eq!(
        message.subject(),
        Some("Complete your identity verification (KYC)")
    );
    assert_eq!(
        message.message_id(),
        Some(job.message_id.trim_matches(['<', '>']))
    );
    let to = message.to().unwrap().first().unwrap().address().unwrap();
    assert_eq!(to, "tbash7676@gmail.com");
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains(&job.kyc_link),
        "text part lacks the exact KYC link:\n{text}"
    );
    assert!(
        text.contains(&job.tos_link),
        "text part lacks the exact ToS link:\n{text}"
    );
    let html = message.body_html(0).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains(&job.kyc_link.replace('&', "&amp;")), "{html}");
    assert!(!html.contains("&amp;amp;"), "{html}");
}

#[tokio::test]
async fn smtp_delivers_one_message_with_both_links_to_the_customer() {
    let sink = SmtpSink::start().await;
    let job = job();
    smtp(sink.url()).send(&job.mail()).await.unwrap();

    let received = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec!["tbash7676@gmail.com"]);
    assert_eq!(received[0].mail_from, "kyc@onboarding.test");
    assert_kyc_message(received[0].data.as_bytes(), &job);
}

#[tokio::test]
async fn smtp_down_is_a_transient_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = smtp(format!("smtp://127.0.0.1:{port}"))
        .send(&job().mail())
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn smtp_url_errors_name_the_setting() {
    let err = SmtpMailer::new(SmtpSettings {
        url: "http://nope".into(),
        from: parse_from("kyc@onboarding.test").unwrap(),
        timeout: Duration::from_secs(1),
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("SMTP_URL"), "{err}");
    assert!(parse_from("not a mailbox")
        .unwrap_err()
        .to_string()
        .contains("MAIL_FROM"));
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_file_per_message() {
    let dir = TempSqlite::new();
    let mail_dir = dir.dir().join("mail");
    let mailer = FileMailer::new(&mail_dir, parse_from("kyc@onboarding.test").unwrap()).unwrap();
    let job = job();
    mailer.send(&job.mail()).await.unwrap();

    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_kyc_message(&std::fs::read(&files[0]).unwrap(), &job);
}
