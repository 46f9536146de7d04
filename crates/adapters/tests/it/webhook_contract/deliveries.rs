//! Deliveries: listed newest first with a cursor, queued again unless in flight, purged
//! past their retention, counted in the backlog of their kind.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use domain::WebhookEventType;
use ports::webhooks::{DeliveryCursor, Purged, RetryOutcome};
use ports::{AttemptReport, DeliveryStatus, Effects, JobEnd, JobKind, NewEvent};
use uuid::Uuid;

use super::{customer_created, deliveries, now, register};
use crate::stores::Store;

pub async fn deliveries_are_listed_newest_first_with_a_cursor(store: Store) {
    let account = store.account().await;
    let endpoint = register(&store, account).await;
    let mut written = Vec::new();
    for n in 0..3 {
        written.push(customer_created(&store, account, n).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = store
        .endpoints
        .list_deliveries(account, endpoint.id, None, 2)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>(),
        vec![written[2].id.clone(), written[1].id.clone()]
    );
    let record = &first[0];
    assert_eq!(record.endpoint_id, endpoint.id);
    assert_eq!(record.event_type, WebhookEventType::CustomerCreated);
    assert_eq!(record.status, DeliveryStatus::Queued);
    assert_eq!(record.attempts, 0);
    assert_eq!(record.next_attempt_at, Some(written[2].created_at));
    assert_eq!(record.created_at, written[2].created_at);
    assert_eq!(
        (record.last_error.clone(), record.finished_at),
        (None, None)
    );

    let cursor = DeliveryCursor {
        created_at: first[1].created_at,
        id: first[1].id,
    };
    let rest = store
        .endpoints
        .list_deliveries(account, endpoint.id, Some(cursor), 10)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>(),
        vec![written[0].id.clone()]
    );
    assert_eq!(
        store
            .endpoints
            .find_delivery(account, endpoint.id, first[1].id)
            .await
            .unwrap(),
        Some(first[1].clone())
    );
    let other = store.account().await;
    assert!(store
        .endpoints
        .list_deliveries(other, endpoint.id, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .endpoints
            .find_delivery(other, endpoint.id, first[1].id)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_delivery_is_queued_again_unless_an_attempt_is_under_way(store: Store) {
    let account = store.account().await;
    let endpoint = register(&store, account).await;
    customer_created(&store, account, 1).await;
    let job = store
        .outbox
        .claim(&deliveries(Duration::from_secs(60)))
        .await
        .unwrap()
        .remove(0);

    assert_eq!(
        store
            .endpoints
            .retry_delivery(account, endpoint.id, job.id, now())
            .await
            .unwrap(),
        RetryOutcome::InFlight
    );
    let failed = AttemptReport {
        end: JobEnd::Failed,
        error: Some("HTTP 500: down".into()),
        http_status: Some(500),
        at: Utc::now(),
    };
    store
        .outbox
        .finish(job.id, failed, Effects::default())
        .await
        .unwrap();
    let given_up = store
        .endpoints
        .find_delivery(account, endpoint.id, job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(given_up.status, DeliveryStatus::Failed);
    assert_eq!(given_up.last_http_status, Some(500));
    assert_eq!(given_up.last_error.as_deref(), Some("HTTP 500: down"));
    assert_eq!(given_up.next_attempt_at, None);
    assert!(given_up.finished_at.is_some());

    let other = store.account().await;
    assert_eq!(
        store
            .endpoints
            .retry_delivery(other, endpoint.id, job.id, now())
            .await
            .unwrap(),
        RetryOutcome::NotFound
    );
    let unknown = ports::JobId(Uuid::new_v4());
    assert_eq!(
        store
            .endpoints
            .retry_delivery(account, endpoint.id, unknown, now())
            .await
            .unwrap(),
        RetryOutcome::NotFound
    );

    let at = now();
    let RetryOutcome::Queued(queued) = store
        .endpoints
        .retry_delivery(account, endpoint.id, job.id, at)
        .await
        .unwrap()
    else {
        panic!("the delivery should be queued again")
    };
    assert_eq!(queued.status, DeliveryStatus::Queued);
    assert_eq!(queued.attempts, 0);
    assert_eq!(queued.next_attempt_at, Some(at));
    assert_eq!(queued.finished_at, None);
    let again = store
        .outbox
        .claim(&deliveries(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (job.id, 1));
}

/// Marks the deliveries of `event` finished with `status` on `at`, and dates the event then.
fn finish_on(store: &Store, event: &NewEvent, status: &str, at: &str) {
    store.raw.execute(&format!(
        "UPDATE outbox_jobs SET status = '{status}', finished_at = '{at}' \
         WHERE event_id = '{id}'; \
         UPDATE webhook_events SET created_at = '{at}' WHERE id = '{id}'",
        id = event.id
    ));
}

pub async fn old_finished_deliveries_and_the_events_left_without_any_are_purged(store: Store) {
    let account = store.account().await;
    register(&store, account).await;
    let old_delivered = customer_created(&store, account, 1).await;
    let old_failed = customer_created(&store, account, 2).await;
    let recent = customer_created(&store, account, 3).await;
    let old_queued = customer_created(&store, account, 4).await;
    let long_ago = "2020-01-01T00:00:00.000Z";
    finish_on(&store, &old_delivered, "delivered", long_ago);
    finish_on(&store, &old_failed, "failed", long_ago);
    finish_on(
        &store,
        &recent,
        "delivered",
        &now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    store.raw.execute(&format!(
        "UPDATE webhook_events SET created_at = '{long_ago}' WHERE id = '{}'",
        old_queued.id
    ));

    let purged = store
        .deliveries
        .purge_finished(Utc::now() - TimeDelta::days(30))
        .await
        .unwrap();

    assert_eq!(
        purged,
        Purged {
            deliveries: 2,
            events: 2
        }
    );
    let kept = |event: &NewEvent| {
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE id = '{}'",
            event.id
        ))
    };
    assert_eq!(
        [&old_delivered, &old_failed, &recent, &old_queued].map(kept),
        [0, 0, 1, 1]
    );
    assert_eq!(
        store
            .raw
            .count("SELECT count(*) FROM outbox_jobs WHERE kind = 'webhook'"),
        2
    );
    // The KYC mails of those customers are not webhook deliveries: untouched.
    assert_eq!(
        store
            .raw
            .count("SELECT count(*) FROM outbox_jobs WHERE kind = 'kyc_mail'"),
        4
    );
}

pub async fn every_kind_reports_its_backlog(store: Store) {
    let account = store.account().await;
    register(&store, account).await;
    register(&store, account).await;
    customer_created(&store, account, 1).await;
    let backlogs = store.health.outbox_backlogs().await.unwrap();
    let queued: Vec<(JobKind, u64)> = backlogs.iter().map(|(k, b)| (*k, b.queued)).collect();
    assert_eq!(queued, vec![(JobKind::KycMail, 1), (JobKind::Webhook, 2)]);
    assert!(backlogs.iter().all(|(_, b)| b.oldest_age.is_some()));
}

crate::stores::contract_suite!(
    deliveries_are_listed_newest_first_with_a_cursor,
    a_delivery_is_queued_again_unless_an_attempt_is_under_way,
    old_finished_deliveries_and_the_events_left_without_any_are_purged,
    every_kind_reports_its_backlog,
);
