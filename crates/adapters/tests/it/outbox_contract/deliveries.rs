//! Webhook deliveries: an event fanned out to each enabled, subscribed endpoint in the
//! writer's transaction, and claims that keep every endpoint within its share of leases.

use std::sync::Arc;

use domain::{Customer, WebhookEventType};
use ports::{Effects, JobEnd, JobWork, NewEvent, OutboxJob};
use testkit::{registration, sample_customer};
use uuid::Uuid;

use super::{claim, deliveries, endpoint, events, report};
use crate::stores::Store;

fn created_event(customer: &Customer) -> NewEvent {
    events().about(
        WebhookEventType::CustomerCreated,
        customer,
        None,
        customer.created_at,
    )
}

/// Registers `customer` with its `customer.created` event.
async fn insert_created(store: &Store, customer: &Customer) {
    store
        .customers
        .insert(&registration(customer).with_event(created_event(customer)))
        .await
        .unwrap();
}

/// Writes one `customer.created` per new customer of `account`, oldest first.
async fn created_customers(store: &Store, account: domain::AccountId, prefix: &str, n: usize) {
    for i in 0..n {
        insert_created(
            store,
            &sample_customer(account, &format!("{prefix}{i}@example.com")),
        )
        .await;
    }
}

fn endpoint_of(job: &OutboxJob) -> Uuid {
    match &job.work {
        JobWork::Webhook { endpoint_id, .. } => endpoint_id.0,
        other => panic!("a delivery expected: {other:?}"),
    }
}

pub async fn an_event_is_delivered_once_to_each_enabled_endpoint_that_subscribes(store: Store) {
    let account = store.account().await;
    let other_account = store.account().await;
    let all = endpoint(&store, account, "[]", true);
    let created_only = endpoint(&store, account, "[\"customer.created\"]", true);
    endpoint(&store, account, "[\"customer.kyc.approved\"]", true);
    endpoint(&store, account, "[]", false);
    endpoint(&store, other_account, "[]", true);

    let customer = sample_customer(account, "a@example.com");
    let event = created_event(&customer);
    store
        .customers
        .insert(&registration(&customer).with_event(event.clone()))
        .await
        .unwrap();

    let jobs = claim(&store, &deliveries(10, None)).await;
    let mut receivers: Vec<Uuid> = jobs
        .iter()
        .map(|job| match &job.work {
            JobWork::Webhook {
                endpoint_id,
                event_id,
            } => {
                assert_eq!(event_id, &event.id);
                endpoint_id.0
            }
            other => panic!("a delivery expected: {other:?}"),
        })
        .collect();
    receivers.sort();
    let mut expected = vec![all, created_only];
    expected.sort();
    assert_eq!(receivers, expected);
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE id = '{}' AND body = '{}'",
            event.id, event.body
        )),
        1
    );
}

pub async fn an_event_nobody_receives_is_not_kept(store: Store) {
    let account = store.account().await;
    endpoint(&store, account, "[\"customer.kyc.rejected\"]", true);
    insert_created(&store, &sample_customer(account, "a@example.com")).await;
    assert_eq!(store.raw.count("SELECT count(*) FROM webhook_events"), 0);
    assert_eq!(
        store
            .raw
            .count("SELECT count(*) FROM outbox_jobs WHERE kind = 'webhook'"),
        0
    );
}

pub async fn no_endpoint_holds_more_leases_than_its_share(store: Store) {
    let account = store.account().await;
    let slow = endpoint(&store, account, "[]", true);
    let fast = endpoint(&store, account, "[]", true);
    created_customers(&store, account, "c", 4).await;
    let count = |jobs: &[OutboxJob], endpoint: Uuid| {
        jobs.iter()
            .filter(|j| matches!(&j.work, JobWork::Webhook { endpoint_id, .. } if endpoint_id.0 == endpoint))
            .count()
    };
    let first = claim(&store, &deliveries(10, Some(2))).await;
    assert_eq!((count(&first, slow), count(&first, fast)), (2, 2));
    // Both endpoints have two in flight: a second claimer gets nothing more until one ends.
    assert!(claim(&store, &deliveries(10, Some(2))).await.is_empty());
    let done = first
        .iter()
        .find(|j| count(std::slice::from_ref(j), fast) == 1)
        .unwrap();
    store
        .outbox
        .finish(done.id, report(JobEnd::Delivered, None), Effects::default())
        .await
        .unwrap();
    let next = claim(&store, &deliveries(10, Some(2))).await;
    assert_eq!((count(&next, slow), count(&next, fast)), (0, 1));
}

pub async fn a_long_backlog_of_one_endpoint_does_not_hide_the_others(store: Store) {
    let account = store.account().await;
    let busy = endpoint(&store, account, "[]", true);
    created_customers(&store, account, "busy", 30).await;
    let other_account = store.account().await;
    let quiet = endpoint(&store, other_account, "[]", true);
    created_customers(&store, other_account, "quiet", 1).await;

    // The 30 deliveries to `busy` are all older than the one to `quiet`.
    let first = claim(&store, &deliveries(5, Some(2))).await;
    let mut got: Vec<Uuid> = first.iter().map(endpoint_of).collect();
    got.sort();
    let mut expected = vec![busy, busy, quiet];
    expected.sort();
    assert_eq!(got, expected);
    // `busy` is at its share: nothing more for anyone until one of its attempts ends.
    assert!(claim(&store, &deliveries(5, Some(2))).await.is_empty());
}

pub async fn racing_claimers_never_exceed_an_endpoints_share(store: Store) {
    let account = store.account().await;
    let target = endpoint(&store, account, "[]", true);
    created_customers(&store, account, "race", 20).await;
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let outbox = Arc::clone(&store.outbox);
            tokio::spawn(async move { outbox.claim(&deliveries(10, Some(3))).await })
        })
        .collect();
    let mut leased = 0;
    for claim in claims {
        let jobs = claim.await.unwrap().unwrap();
        assert!(jobs.iter().all(|j| endpoint_of(j) == target));
        leased += jobs.len();
    }
    assert_eq!(
        leased, 3,
        "eight claimers at once share one endpoint's three leases"
    );
}

crate::stores::contract_suite!(
    an_event_is_delivered_once_to_each_enabled_endpoint_that_subscribes,
    an_event_nobody_receives_is_not_kept,
    no_endpoint_holds_more_leases_than_its_share,
    a_long_backlog_of_one_endpoint_does_not_hide_the_others,
    racing_claimers_never_exceed_an_endpoints_share,
);
