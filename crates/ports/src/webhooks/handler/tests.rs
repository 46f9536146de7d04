//! The delivery handler's branches, with mockall mocks of the store, the box and the sender.

use chrono::TimeDelta;
use domain::{EndpointId, EventId, UrlRules, WebhookUrl, SIGNING_KEY_BYTES};
use uuid::Uuid;

use super::*;
use crate::webhooks::{
    MockSecretBox, MockWebhookDeliveries, MockWebhookSender, SealedSecret, SecretBoxError,
    SendError, StoredSecrets, WebhookResponse,
};
use crate::JobId;

fn endpoint() -> EndpointId {
    EndpointId(Uuid::from_u128(7))
}

fn event() -> EventId {
    EventId::from_stored("evt_0123456789abcdef0123456789abcdef".into())
}

fn job() -> OutboxJob {
    OutboxJob {
        id: JobId(Uuid::from_u128(1)),
        attempt: 1,
        work: JobWork::Webhook {
            endpoint_id: endpoint(),
            event_id: event(),
        },
    }
}

fn secret(n: u8) -> SigningSecret {
    SigningSecret::from_key(&[n; SIGNING_KEY_BYTES])
}

fn target(previous_until: Option<DateTime<Utc>>, enabled: bool) -> DeliveryTarget {
    DeliveryTarget {
        url: WebhookUrl::parse("https://hooks.example.com/in", UrlRules::default()).unwrap(),
        enabled,
        secrets: StoredSecrets {
            current: SealedSecret("sealed-1".into()),
            previous: previous_until.map(|until| (SealedSecret("sealed-2".into()), until)),
        },
        body: r#"{"id":"evt_1"}"#.into(),
    }
}

fn store_with(target: Option<DeliveryTarget>) -> MockWebhookDeliveries {
    let mut deliveries = MockWebhookDeliveries::new();
    deliveries
        .expect_delivery_target()
        .times(1)
        .withf(|e, v| *e == endpoint() && *v == event())
        .returning(move |_, _| Ok(target.clone()));
    deliveries
}

/// Opens `sealed-N` as secret N, for the endpoint it was sealed for only.
fn numbered_box() -> MockSecretBox {
    let mut secrets = MockSecretBox::new();
    secrets.expect_open().returning(|sealed, for_endpoint| {
        let n = sealed.0.strip_prefix("sealed-").unwrap().parse().unwrap();
        if for_endpoint == endpoint() {
            Ok(secret(n))
        } else {
            Err(SecretBoxError::WrongKeyOrTampered)
        }
    });
    secrets
}

fn sender_answering(
    expected_secrets: Vec<SigningSecret>,
    answer: Result<WebhookResponse, fn() -> SendError>,
) -> MockWebhookSender {
    let mut sender = MockWebhookSender::new();
    sender
        .expect_send()
        .times(1)
        .withf(move |w| {
            w.event_id == event()
                && w.body == r#"{"id":"evt_1"}"#
                && w.url.as_str() == "https://hooks.example.com/in"
                && w.secrets == expected_secrets
        })
        .returning(move |_| answer.clone().map_err(|make| make()));
    sender
}

fn handler(
    deliveries: MockWebhookDeliveries,
    secrets: MockSecretBox,
    sender: MockWebhookSender,
) -> WebhookDeliveryHandler {
    WebhookDeliveryHandler::new(Arc::new(deliveries), Arc::new(secrets), Arc::new(sender))
}

fn answer(status: u16, body: &str) -> Result<WebhookResponse, fn() -> SendError> {
    Ok(WebhookResponse {
        status,
        body_excerpt: body.into(),
    })
}

#[tokio::test]
async fn any_2xx_answer_is_delivered() {
    for status in [200, 202, 204, 299] {
        let attempted = handler(
            store_with(Some(target(None, true))),
            numbered_box(),
            sender_answering(vec![secret(1)], answer(status, "")),
        )
        .attempt(&job())
        .await;
        assert_eq!(
            attempted,
            Attempted::Delivered {
                http_status: Some(status)
            }
        );
    }
}

#[tokio::test]
async fn during_a_rotations_overlap_both_secrets_sign_the_current_one_first() {
    let until = Utc::now() + TimeDelta::hours(23);
    let attempted = handler(
        store_with(Some(target(Some(until), true))),
        numbered_box(),
        sender_answering(vec![secret(1), secret(2)], answer(200, "")),
    )
    .attempt(&job())
    .await;
    assert!(matches!(attempted, Attempted::Delivered { .. }));
}

#[tokio::test]
async fn after_the_overlap_only_the_new_secret_signs() {
    let ended = Utc::now() - TimeDelta::seconds(1);
    let attempted = handler(
        store_with(Some(target(Some(ended), true))),
        numbered_box(),
        sender_answering(vec![secret(1)], answer(200, "")),
    )
    .attempt(&job())
    .await;
    assert!(matches!(attempted, Attempted::Delivered { .. }));
}

#[tokio::test]
async fn another_status_is_a_failed_attempt_keeping_the_status_and_the_answer() {
    let attempted = handler(
        store_with(Some(target(None, true))),
        numbered_box(),
        sender_answering(vec![secret(1)], answer(500, "database down")),
    )
    .attempt(&job())
    .await;
    assert_eq!(
        attempted,
        Attempted::Failed {
            permanent: false,
            error: "HTTP 500: database down".into(),
            http_status: Some(500),
        }
    );
    let redirected = handler(
        store_with(Some(target(None, true))),
        numbered_box(),
        sender_answering(vec![secret(1)], answer(302, "")),
    )
    .attempt(&job())
    .await;
    assert_eq!(
        redirected,
        Attempted::Failed {
            permanent: false,
            error: "HTTP 302 (redirects are not followed)".into(),
            http_status: Some(302),
        }
    );
}

#[tokio::test]
async fn a_refused_destination_or_no_answer_is_a_failed_attempt_with_the_reason() {
    for (make, expected) in [
        (
            (|| SendError::Refused("the host resolves to a non-public address".into()))
                as fn() -> SendError,
            "refused: the host resolves to a non-public address",
        ),
        (
            || SendError::Timeout(std::time::Duration::from_secs(10)),
            "no answer within 10s",
        ),
        (
            || SendError::Connection("connection refused".into()),
            "connection refused",
        ),
    ] {
        let attempted = handler(
            store_with(Some(target(None, true))),
            numbered_box(),
            sender_answering(vec![secret(1)], Err(make)),
        )
        .attempt(&job())
        .await;
        assert_eq!(
            attempted,
            Attempted::Failed {
                permanent: false,
                error: expected.into(),
                http_status: None,
            }
        );
    }
}

#[tokio::test]
async fn a_previous_secret_that_will_not_open_is_left_out() {
    let mut secrets = MockSecretBox::new();
    secrets.expect_open().returning(|sealed, _| {
        if sealed.0 == "sealed-1" {
            Ok(secret(1))
        } else {
            Err(SecretBoxError::WrongKeyOrTampered)
        }
    });
    let attempted = handler(
        store_with(Some(target(Some(Utc::now() + TimeDelta::hours(1)), true))),
        secrets,
        sender_answering(vec![secret(1)], answer(200, "")),
    )
    .attempt(&job())
    .await;
    assert!(
        matches!(attempted, Attempted::Delivered { .. }),
        "{attempted:?}"
    );
}

fn never_sends() -> MockWebhookSender {
    let mut sender = MockWebhookSender::new();
    sender.expect_send().never();
    sender
}

#[tokio::test]
async fn a_deleted_endpoint_or_a_disabled_one_is_given_up_without_sending() {
    let gone = handler(store_with(None), MockSecretBox::new(), never_sends())
        .attempt(&job())
        .await;
    assert!(
        matches!(
            gone,
            Attempted::Failed {
                permanent: true,
                ..
            }
        ),
        "{gone:?}"
    );
    let disabled = handler(
        store_with(Some(target(None, false))),
        MockSecretBox::new(),
        never_sends(),
    )
    .attempt(&job())
    .await;
    assert_eq!(
        disabled,
        Attempted::Failed {
            permanent: true,
            error: "the endpoint is disabled".into(),
            http_status: None,
        }
    );
}

#[tokio::test]
async fn a_secret_that_will_not_open_or_an_unreachable_store_is_retried_later() {
    let mut secrets = MockSecretBox::new();
    secrets
        .expect_open()
        .returning(|_, _| Err(SecretBoxError::WrongKeyOrTampered));
    let sealed_wrong = handler(store_with(Some(target(None, true))), secrets, never_sends())
        .attempt(&job())
        .await;
    assert!(
        matches!(
            sealed_wrong,
            Attempted::Failed {
                permanent: false,
                ..
            }
        ),
        "{sealed_wrong:?}"
    );

    let mut deliveries = MockWebhookDeliveries::new();
    deliveries.expect_delivery_target().returning(|_, _| {
        Err(RepositoryError::Unavailable(anyhow::anyhow!(
            "pool timed out"
        )))
    });
    let unreachable = handler(deliveries, MockSecretBox::new(), never_sends())
        .attempt(&job())
        .await;
    assert!(
        matches!(
            unreachable,
            Attempted::Failed {
                permanent: false,
                ..
            }
        ),
        "{unreachable:?}"
    );
}

#[tokio::test]
async fn a_delivery_ends_without_other_effects() {
    let effects = handler(
        MockWebhookDeliveries::new(),
        MockSecretBox::new(),
        MockWebhookSender::new(),
    )
    .on_end(&job(), false, Utc::now())
    .await
    .unwrap();
    assert_eq!(effects, Effects::default());
}
