//! Unit tests of the endpoint and delivery use cases, with mockall mocks of every port.

use super::*;
use crate::webhooks::{
    DeliveryError, DeliveryRecord, DeliveryStatus, DestinationRefused, ListDeliveries,
    ManageDeliveries, MockSecretBox, MockWebhookEndpointRepository, MockWebhookSender,
    RetryOutcome, SealedSecret,
};
use crate::JobId;
use domain::{EventId, WebhookEventType};
use uuid::Uuid;

mod reserved;

fn account() -> AccountId {
    AccountId(Uuid::from_u128(1))
}

fn url(raw: &str) -> WebhookUrl {
    WebhookUrl::parse(raw, UrlRules::default()).unwrap()
}

fn new_endpoint() -> NewEndpoint {
    NewEndpoint {
        url: url("https://hooks.example.com/in"),
        description: EndpointDescription::parse("orders").unwrap(),
        filter: EventFilter::new([domain::WebhookEventType::CustomerCreated]),
    }
}

fn endpoint(id: EndpointId, enabled: bool) -> WebhookEndpoint {
    WebhookEndpoint {
        id,
        account_id: account(),
        url: url("https://hooks.example.com/in"),
        description: EndpointDescription::default(),
        filter: EventFilter::all(),
        enabled,
        created_at: Utc::now(),
        updated_at: None,
    }
}

/// A box that "seals" by tagging the text with the endpoint, so a test can see what was
/// sealed for whom.
fn tagging_box() -> MockSecretBox {
    let mut secrets = MockSecretBox::new();
    secrets
        .expect_seal()
        .returning(|secret, endpoint| Ok(SealedSecret(format!("{endpoint}:{}", secret.expose()))));
    secrets
}

fn open_sender() -> MockWebhookSender {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_destination().returning(|_| Ok(()));
    sender
}

fn refusing_sender() -> MockWebhookSender {
    let mut sender = MockWebhookSender::new();
    sender
        .expect_check_destination()
        .times(1)
        .returning(|_| Err(DestinationRefused("resolves to a private address".into())));
    sender
}

fn service(
    repo: MockWebhookEndpointRepository,
    secrets: MockSecretBox,
    sender: MockWebhookSender,
) -> WebhookEndpointService {
    WebhookEndpointService::new(
        Arc::new(repo),
        Arc::new(secrets),
        Arc::new(sender),
        WebhookSettings::default(),
    )
}

#[tokio::test]
async fn registering_stores_an_enabled_endpoint_with_its_secret_sealed_for_it() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint()
        .times(2)
        .withf(|endpoint, sealed, limit, idempotency| {
            *limit == 10
                && idempotency.is_none()
                && endpoint.enabled
                && endpoint.account_id == account()
                && endpoint.url.as_str() == "https://hooks.example.com/in"
                && endpoint.updated_at.is_none()
                && sealed.0.starts_with(&format!("{}:whsec_", endpoint.id))
        })
        .returning(|_, _, _, _| Ok(()));
    let service = service(repo, tagging_box(), open_sender());

    let first = service
        .create_endpoint(account(), new_endpoint())
        .await
        .unwrap();
    let second = service
        .create_endpoint(account(), new_endpoint())
        .await
        .unwrap();

    assert_eq!(first.secret.key().len(), 32);
    assert!(first.secret.expose().starts_with("whsec_"));
    assert_ne!(first.secret, second.secret);
    assert_ne!(first.endpoint.id, second.endpoint.id);
    assert_eq!(
        first.endpoint.created_at.timestamp_subsec_nanos() % 1_000_000,
        0
    );
}

#[tokio::test]
async fn a_url_the_sender_refuses_is_not_registered() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint().never();
    let mut secrets = MockSecretBox::new();
    secrets.expect_seal().never();
    let err = service(repo, secrets, refusing_sender())
        .create_endpoint(account(), new_endpoint())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EndpointError::UrlRefused(m) if m == "resolves to a private address"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_eleventh_endpoint_is_refused_with_the_limit() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint()
        .times(1)
        .returning(|_, _, _, _| Err(InsertEndpointError::LimitReached));
    let err = service(repo, tagging_box(), open_sender())
        .create_endpoint(account(), new_endpoint())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EndpointError::LimitReached { limit: 10 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_such() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_insert_endpoint()
        .times(1)
        .returning(|_, _, _, _| {
            Err(InsertEndpointError::Store(RepositoryError::Unavailable(
                anyhow::anyhow!("pool timed out"),
            )))
        });
    let err = service(repo, tagging_box(), open_sender())
        .create_endpoint(account(), new_endpoint())
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::StoreUnavailable(_)), "{err:?}");
}

#[tokio::test]
async fn another_accounts_endpoint_is_not_found_before_its_new_url_is_looked_at() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint()
        .times(1)
        .returning(|_, _| Ok(None));
    repo.expect_update_endpoint().never();
    let mut sender = MockWebhookSender::new();
    sender.expect_check_destination().never();
    let patch = EndpointPatch {
        url: Some(url("https://elsewhere.example/")),
        ..EndpointPatch::default()
    };
    let err = service(repo, MockSecretBox::new(), sender)
        .update_endpoint(account(), EndpointId::new_random(), patch)
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_new_url_is_checked_like_a_registration() {
    let id = EndpointId::new_random();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint()
        .returning(move |_, _| Ok(Some(endpoint(id, true))));
    repo.expect_update_endpoint().never();
    let patch = EndpointPatch {
        url: Some(url("https://internal.example/")),
        enabled: Some(false),
        ..EndpointPatch::default()
    };
    let err = service(repo, MockSecretBox::new(), refusing_sender())
        .update_endpoint(account(), id, patch)
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::UrlRefused(_)), "{err:?}");
}

#[tokio::test]
async fn a_change_writes_only_what_it_names() {
    let id = EndpointId::new_random();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint()
        .returning(move |_, _| Ok(Some(endpoint(id, true))));
    repo.expect_update_endpoint()
        .times(1)
        .withf(move |a, i, change, _| {
            *a == account()
                && *i == id
                && *change
                    == EndpointChange {
                        enabled: Some(false),
                        ..EndpointChange::default()
                    }
        })
        .returning(move |_, _, _, at| {
            Ok(Some(WebhookEndpoint {
                enabled: false,
                updated_at: Some(at),
                ..endpoint(id, true)
            }))
        });
    let mut sender = MockWebhookSender::new();
    sender.expect_check_destination().never();
    let service = service(repo, MockSecretBox::new(), sender);
    let patch = EndpointPatch {
        enabled: Some(false),
        ..EndpointPatch::default()
    };
    let updated = service.update_endpoint(account(), id, patch).await.unwrap();
    assert!(!updated.enabled && updated.updated_at.is_some());
    // An empty change changes nothing and writes nothing.
    let same = service
        .update_endpoint(account(), id, EndpointPatch::default())
        .await
        .unwrap();
    assert!(same.enabled);
}

#[tokio::test]
async fn deleting_an_unknown_endpoint_is_not_found() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_delete_endpoint()
        .times(1)
        .returning(|_, _| Ok(false));
    let err = service(repo, MockSecretBox::new(), MockWebhookSender::new())
        .delete_endpoint(account(), EndpointId::new_random())
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::NotFound), "{err:?}");
}

#[tokio::test]
async fn rotation_seals_a_new_secret_and_keeps_the_old_one_for_a_day() {
    let id = EndpointId::new_random();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_rotate_secret()
        .times(1)
        .withf(move |a, i, sealed, until, at| {
            *a == account()
                && *i == id
                && sealed.0.starts_with(&format!("{id}:whsec_"))
                && *until - *at == TimeDelta::hours(24)
        })
        .returning(move |_, _, _, _, at| {
            Ok(Some(WebhookEndpoint {
                updated_at: Some(at),
                ..endpoint(id, true)
            }))
        });
    let rotated = service(repo, tagging_box(), MockWebhookSender::new())
        .rotate_secret(account(), id)
        .await
        .unwrap();
    assert_eq!(rotated.endpoint.id, id);
    assert_eq!(rotated.secret.key().len(), 32);
}

#[tokio::test]
async fn rotating_another_accounts_endpoint_is_not_found() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_rotate_secret()
        .times(1)
        .returning(|_, _, _, _, _| Ok(None));
    let err = service(repo, tagging_box(), MockWebhookSender::new())
        .rotate_secret(account(), EndpointId::new_random())
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::NotFound), "{err:?}");
}

fn record(n: u128, endpoint: EndpointId) -> DeliveryRecord {
    DeliveryRecord {
        id: JobId(Uuid::from_u128(n)),
        endpoint_id: endpoint,
        event_id: EventId::new_random(),
        event_type: WebhookEventType::CustomerCreated,
        status: DeliveryStatus::Failed,
        attempts: 8,
        last_http_status: Some(500),
        last_error: Some("HTTP 500".into()),
        next_attempt_at: None,
        created_at: Utc::now(),
        finished_at: Some(Utc::now()),
    }
}

#[tokio::test]
async fn deliveries_of_another_accounts_endpoint_are_not_found() {
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint().returning(|_, _| Ok(None));
    repo.expect_list_deliveries().never();
    repo.expect_retry_delivery().never();
    let service = service(repo, MockSecretBox::new(), MockWebhookSender::new());
    let query = ListDeliveries {
        limit: 10,
        starting_after: None,
    };
    let id = EndpointId::new_random();
    assert!(matches!(
        service.list_deliveries(account(), id, query).await,
        Err(DeliveryError::NotFound)
    ));
    assert!(matches!(
        service
            .retry_delivery(account(), id, JobId(Uuid::from_u128(1)))
            .await,
        Err(DeliveryError::NotFound)
    ));
}

#[tokio::test]
async fn a_page_of_deliveries_says_whether_more_follow_after_its_cursor() {
    let id = EndpointId::new_random();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint()
        .returning(move |_, _| Ok(Some(endpoint(id, true))));
    repo.expect_find_delivery()
        .withf(|_, _, d| d.0 == Uuid::from_u128(9))
        .returning(move |_, _, d| Ok(Some(record(d.0.as_u128(), id))));
    repo.expect_find_delivery().returning(|_, _, _| Ok(None));
    repo.expect_list_deliveries()
        .withf(|_, _, after, limit| {
            after.is_some_and(|c| c.id.0 == Uuid::from_u128(9)) && *limit == 3
        })
        .returning(move |_, _, _, _| Ok((1..=3).map(|n| record(n, id)).collect()));
    let service = service(repo, MockSecretBox::new(), MockWebhookSender::new());

    let page = service
        .list_deliveries(
            account(),
            id,
            ListDeliveries {
                limit: 2,
                starting_after: Some(JobId(Uuid::from_u128(9))),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.deliveries.len(), 2);
    assert!(page.has_more);

    let unknown = ListDeliveries {
        limit: 2,
        starting_after: Some(JobId(Uuid::from_u128(5))),
    };
    assert!(matches!(
        service.list_deliveries(account(), id, unknown).await,
        Err(DeliveryError::UnknownCursor)
    ));
}

#[tokio::test]
async fn a_retry_is_refused_while_in_flight_or_while_the_endpoint_is_disabled() {
    let enabled = EndpointId::new_random();
    let disabled = EndpointId::new_random();
    let mut repo = MockWebhookEndpointRepository::new();
    repo.expect_find_endpoint()
        .returning(move |_, id| Ok(Some(endpoint(id, id == enabled))));
    let mut answers = vec![
        RetryOutcome::Queued(record(1, enabled)),
        RetryOutcome::NotFound,
        RetryOutcome::InFlight,
    ];
    repo.expect_retry_delivery()
        .times(3)
        .withf(move |_, endpoint, _, _| *endpoint == enabled)
        .returning(move |_, _, _, _| Ok(answers.pop().unwrap()));
    let service = service(repo, MockSecretBox::new(), MockWebhookSender::new());
    let delivery = JobId(Uuid::from_u128(1));

    assert!(matches!(
        service.retry_delivery(account(), disabled, delivery).await,
        Err(DeliveryError::EndpointDisabled)
    ));
    assert!(matches!(
        service.retry_delivery(account(), enabled, delivery).await,
        Err(DeliveryError::InFlight)
    ));
    assert!(matches!(
        service.retry_delivery(account(), enabled, delivery).await,
        Err(DeliveryError::NotFound)
    ));
    let queued = service
        .retry_delivery(account(), enabled, delivery)
        .await
        .unwrap();
    assert_eq!(queued.id, delivery);
}
