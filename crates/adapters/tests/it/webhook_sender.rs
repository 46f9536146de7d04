//! The HTTP webhook sender against local receivers: every signature checked with the
//! Standard Webhooks reference library (`standardwebhooks`, which shares no code with
//! ours), answers and their excerpts, no redirects, time limits, and the guard against
//! requests into the service's own network.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::webhook::destination::NON_PUBLIC;
use adapters::webhook::{DestinationRules, HttpWebhookSender, WebhookSenderSettings};
use domain::{EventId, SigningSecret, UrlRules, WebhookUrl, SIGNING_KEY_BYTES};
use ports::webhooks::{OutgoingWebhook, SendError};
use ports::WebhookSender as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &str =
    r#"{"id":"evt_0123456789abcdef0123456789abcdef","type":"customer.created","data":{}}"#;

fn sender(allow_private_networks: bool, timeout: Duration) -> HttpWebhookSender {
    HttpWebhookSender::new(WebhookSenderSettings {
        rules: DestinationRules {
            allow_http: true,
            allow_private_networks,
        },
        timeout,
    })
    .unwrap()
}

/// A sender for local receivers, as development and tests configure it.
fn local_sender() -> HttpWebhookSender {
    sender(true, Duration::from_secs(5))
}

fn url(raw: &str) -> WebhookUrl {
    WebhookUrl::parse(raw, UrlRules { allow_http: true }).unwrap()
}

fn secret(n: u8) -> SigningSecret {
    SigningSecret::from_key(&[n; SIGNING_KEY_BYTES])
}

fn webhook(to: &str, secrets: Vec<SigningSecret>) -> OutgoingWebhook {
    OutgoingWebhook {
        url: url(to),
        event_id: EventId::from_stored("evt_0123456789abcdef0123456789abcdef".into()),
        body: BODY.into(),
        secrets,
    }
}

async fn receiver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// What the reference library says of a received request, for `secret`.
fn verifies(request: &wiremock::Request, secret: &SigningSecret) -> bool {
    standardwebhooks::Webhook::new(secret.expose())
        .unwrap()
        .verify(&request.body, &request.headers)
        .is_ok()
}

#[tokio::test]
async fn a_webhook_is_posted_signed_as_the_reference_library_verifies() {
    let server = receiver(ResponseTemplate::new(204)).await;
    let response = local_sender()
        .send(&webhook(&format!("{}/hook", server.uri()), vec![secret(1)]))
        .await
        .unwrap();
    assert_eq!(response.status, 204);

    let received = server.received_requests().await.unwrap();
    let [request] = received.as_slice() else {
        panic!("one request expected: {received:?}")
    };
    assert_eq!(request.body, BODY.as_bytes());
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("webhook-id"), "evt_0123456789abcdef0123456789abcdef");
    assert_eq!(header("content-type"), "application/json");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() <= 5);
    assert!(header("webhook-signature").starts_with("v1,"));
    assert!(verifies(request, &secret(1)));
    assert!(!verifies(request, &secret(2)));
}

#[tokio::test]
async fn during_a_rotation_each_secret_verifies_on_its_own() {
    let server = receiver(ResponseTemplate::new(200)).await;
    local_sender()
        .send(&webhook(
            &format!("{}/hook", server.uri()),
            vec![secret(1), secret(2)],
        ))
        .await
        .unwrap();
    let request = server.received_requests().await.unwrap().remove(0);
    let signatures = request
        .headers
        .get("webhook-signature")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(verifies(&request, &secret(1)));
    assert!(verifies(&request, &secret(2)));
    assert!(!verifies(&request, &secret(3)));
}

#[tokio::test]
async fn an_error_answer_comes_back_with_the_first_kibibyte_of_its_body() {
    let server = receiver(ResponseTemplate::new(500).set_body_string("é".repeat(3000))).await;
    let response = local_sender()
        .send(&webhook(&format!("{}/hook", server.uri()), vec![secret(1)]))
        .await
        .unwrap();
    assert_eq!(response.status, 500);
    assert!(
        response.body_excerpt.len() <= 1024 + 3,
        "{}",
        response.body_excerpt.len()
    );
    assert!(response.body_excerpt.starts_with("éé"));
}

/// A receiver that answers 200 with an endless body; counts what it managed to write.
fn endless_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}/hook", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
        let chunk = [b'x'; 8192];
        // Until the sender hangs up, or 16 MiB.
        for _ in 0..2048 {
            if stream.write_all(&chunk).is_err() {
                break;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    (address, written)
}

#[tokio::test]
async fn an_endless_answer_is_read_no_further_than_64_kib() {
    let (address, written) = endless_receiver();
    let started = Instant::now();
    let response = local_sender()
        .send(&webhook(&address, vec![secret(1)]))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body_excerpt, "x".repeat(1024));
    assert!(started.elapsed() < Duration::from_secs(4));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Socket buffers take some more; far from all of it.
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 8 * 1024 * 1024, "the receiver wrote {sent} bytes");
}

#[tokio::test]
async fn a_redirect_is_the_answer_and_is_not_followed() {
    let elsewhere = receiver(ResponseTemplate::new(200)).await;
    let server = receiver(
        ResponseTemplate::new(302).insert_header("location", format!("{}/hook", elsewhere.uri())),
    )
    .await;
    let response = local_sender()
        .send(&webhook(&format!("{}/hook", server.uri()), vec![secret(1)]))
        .await
        .unwrap();
    assert_eq!(response.status, 302);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_is_a_timeout() {
    let server = receiver(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).await;
    let started = Instant::now();
    let err = sender(true, Duration::from_millis(300))
        .send(&webhook(&format!("{}/hook", server.uri()), vec![secret(1)]))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_closed_port_is_a_connection_failure_that_names_no_url() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = format!("http://127.0.0.1:{port}/hook?token=abc");
    let err = local_sender()
        .send(&webhook(&to, vec![secret(1)]))
        .await
        .unwrap_err();
    let SendError::Connection(reason) = err else {
        panic!("a connection failure expected: {err:?}")
    };
    assert!(!reason.contains("token=abc"), "{reason}");
}

#[tokio::test]
async fn loopback_and_private_destinations_are_refused_and_never_contacted() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let port = server.address().port();
    let strict = sender(false, Duration::from_secs(2));
    for to in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        "http://10.1.2.3/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[fd00::1]/hook".to_owned(),
        "http://[fe80::1]/hook".to_owned(),
        "http://0.0.0.0/hook".to_owned(),
    ] {
        let err = strict
            .send(&webhook(&to, vec![secret(1)]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SendError::Refused(reason) if reason == NON_PUBLIC),
            "{to}: {err:?}"
        );
        let refused = strict.check_destination(&url(&to)).await.unwrap_err();
        assert_eq!(refused.0, NON_PUBLIC, "{to}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn plain_http_is_refused_when_not_allowed() {
    let https_only = HttpWebhookSender::new(WebhookSenderSettings {
        rules: DestinationRules {
            allow_http: false,
            allow_private_networks: true,
        },
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let server = receiver(ResponseTemplate::new(200)).await;
    let to = format!("{}/hook", server.uri());
    let err = https_only
        .send(&webhook(&to, vec![secret(1)]))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused(_)), "{err:?}");
    assert!(https_only.check_destination(&url(&to)).await.is_err());
    assert!(server.received_requests().await.unwrap().is_empty());
}
