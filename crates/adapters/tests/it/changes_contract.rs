//! Changing a customer — the compare-and-set on its version, the e-mail's uniqueness, the
//! replacement of its queued KYC mail, its events — written once and run against both
//! stores.

use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use domain::{
    CountryCode, Customer, CustomerEmail, CustomerName, KycMailStatus, PhoneNumber,
    WebhookEventType,
};
use ports::{
    ClaimRequest, CustomerChange, EventDraft, EventSubject, Events, JobKind, JobWork, Presenter,
    QueuedKycMail, RepositoryError,
};
use testkit::{registration, sample_customer};

use crate::outbox_contract::endpoint;
use crate::stores::Store;

/// Renders an event the way the API does in spirit: a snapshot of the customer (so that a
/// test can look for the person's data in stored bodies), or the id alone once erased.
pub(crate) struct SnapshotPresenter;

impl Presenter for SnapshotPresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        let data = match &draft.subject {
            EventSubject::Customer(c) => serde_json::json!({
                "id": c.id.to_string(),
                "full_name": c.name.as_str(),
                "email": c.email.as_str(),
                "phone": c.phone.as_str(),
            }),
            EventSubject::Erased(id) => serde_json::json!({ "id": id.to_string() }),
        };
        serde_json::json!({"id": draft.id.as_str(), "type": draft.event_type.as_str(), "data": data})
            .to_string()
    }
}

pub(crate) fn events() -> Events {
    Events::new(Arc::new(SnapshotPresenter))
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
}

pub(crate) fn mails() -> ClaimRequest {
    ClaimRequest {
        kind: JobKind::KycMail,
        limit: 10,
        lease: std::time::Duration::from_secs(60),
        per_endpoint: None,
    }
}

/// Registers `customer` as the create use case would.
pub(crate) async fn insert(store: &Store, customer: &Customer) {
    store
        .customers
        .insert(&registration(customer))
        .await
        .unwrap();
}

/// `customer` with new details, at the next version.
fn changed(customer: &Customer) -> Customer {
    let mut new = customer.clone();
    new.name = CustomerName::parse("Ada Lovelace").unwrap();
    new.email = CustomerEmail::parse("ada@example.org").unwrap();
    new.phone = PhoneNumber::parse("+442071838750", None).unwrap();
    new.country = CountryCode::parse("GBR").unwrap();
    new.version = customer.version + 1;
    new.updated_at = Some(now());
    new
}

async fn find(store: &Store, customer: &Customer) -> Option<Customer> {
    store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap()
}

pub async fn an_update_writes_the_customer_as_changed_at_the_next_version(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    let new = changed(&customer);

    store
        .customers
        .update(&CustomerChange::new(new.clone(), customer.version))
        .await
        .unwrap();

    assert_eq!(find(&store, &customer).await, Some(new));
}

pub async fn an_update_against_a_version_that_moved_writes_nothing(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    let account = customer.account_id;
    endpoint(&store, account, "[]", true);
    let first = changed(&customer);
    store
        .customers
        .update(&CustomerChange::new(first.clone(), customer.version))
        .await
        .unwrap();

    // Decided on version 1, which is no longer current: not its customer, not its mail,
    // not its event.
    let mut stale = customer.clone();
    stale.version = 2;
    stale.updated_at = Some(now());
    stale.name = CustomerName::parse("Someone Else").unwrap();
    let change = CustomerChange::new(stale, customer.version)
        .with_kyc_mail(QueuedKycMail {
            message_id: ports::kyc_message_id_for_version(customer.id, 2),
            due_at: now(),
        })
        .with_event(events().about(WebhookEventType::CustomerUpdated, &customer, None, now()));
    let err = store.customers.update(&change).await.unwrap_err();

    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(find(&store, &customer).await, Some(first));
    let jobs = store.outbox.claim(&mails()).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.work.clone()).collect::<Vec<_>>(),
        [JobWork::KycMail {
            customer_id: customer.id,
            message_id: ports::kyc_message_id(customer.id),
        }],
        "the queued mail stays, and no other is queued"
    );
    assert_eq!(store.raw.count("SELECT count(*) FROM webhook_events"), 0);
}

pub async fn an_update_decided_before_a_watermark_moved_writes_nothing(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    // A report saying the state held until a later moment moves only the watermark: no new
    // version (nothing a reader sees changed).
    let mut held = customer.clone();
    held.kyc_as_of = domain::KycOrder {
        sequence: Some(7),
        at: now() + TimeDelta::seconds(5),
    };
    let mut record = ports::KycReportRecord::default();
    record.changes.push(ports::KycChange {
        expected_version: customer.version,
        expected_as_of: customer.kyc_as_of,
        customer: held.clone(),
    });
    assert_eq!(
        store.kyc.record(&record).await.unwrap(),
        ports::Recorded::Written
    );

    // An update decided on the customer as read before: same version, older watermark.
    let err = store
        .customers
        .update(&CustomerChange::new(changed(&customer), customer.version))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(find(&store, &customer).await, Some(held.clone()));

    // Decided again on the customer as it now is, it is written, the watermark kept.
    let mut again = changed(&held);
    again.version = held.version + 1;
    store
        .customers
        .update(&CustomerChange::new(again.clone(), held.version))
        .await
        .unwrap();
    let stored = find(&store, &customer).await.unwrap();
    assert_eq!(stored.kyc_as_of, held.kyc_as_of);
    assert_eq!(stored, again);
}

pub async fn two_updates_decided_on_one_version_give_one_change_and_one_conflict(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    let mut outcomes = Vec::new();
    let tasks: Vec<_> = ["First Writer", "Second Writer"]
        .into_iter()
        .map(|name| {
            let mut new = customer.clone();
            new.name = CustomerName::parse(name).unwrap();
            new.version = 2;
            new.updated_at = Some(now());
            let store = store.clone();
            tokio::spawn(async move {
                let change = CustomerChange::new(new.clone(), 1);
                (store.customers.update(&change).await, new)
            })
        })
        .collect();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let won: Vec<&Customer> = outcomes
        .iter()
        .filter(|(r, _)| r.is_ok())
        .map(|(_, c)| c)
        .collect();
    let lost = outcomes
        .iter()
        .filter(|(r, _)| matches!(r, Err(RepositoryError::Conflict)))
        .count();
    assert_eq!((won.len(), lost), (1, 1), "{outcomes:?}");
    assert_eq!(find(&store, &customer).await.as_ref(), Some(won[0]));
}

pub async fn a_change_that_does_not_make_the_next_version_is_refused(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    let mut same_version = changed(&customer);
    same_version.version = customer.version;
    let mut undated = changed(&customer);
    undated.updated_at = None;
    for new in [same_version, undated] {
        let err = store
            .customers
            .update(&CustomerChange::new(new, customer.version))
            .await
            .unwrap_err();
        assert!(matches!(err, RepositoryError::Unexpected(_)), "{err:?}");
    }
    assert_eq!(find(&store, &customer).await, Some(customer));
}

pub async fn an_update_of_another_accounts_customer_writes_nothing(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    let mut foreign = changed(&customer);
    foreign.account_id = store.account().await;
    let err = store
        .customers
        .update(&CustomerChange::new(foreign, customer.version))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Conflict), "{err:?}");
    assert_eq!(find(&store, &customer).await, Some(customer));
}

pub async fn an_update_to_another_customers_address_in_any_case_is_a_duplicate(store: Store) {
    let account = store.account().await;
    let other = sample_customer(account, "taken@example.com");
    let customer = sample_customer(account, "tbash7676@gmail.com");
    insert(&store, &other).await;
    insert(&store, &customer).await;
    let mut new = changed(&customer);
    new.email = CustomerEmail::parse("Taken@Example.COM").unwrap();
    let err = store
        .customers
        .update(&CustomerChange::new(new, customer.version))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
    assert_eq!(find(&store, &customer).await, Some(customer.clone()));

    // The same address in another spelling is the customer's own, not a duplicate.
    let mut respelled = customer.clone();
    respelled.email = CustomerEmail::parse("TBASH7676@gmail.com").unwrap();
    respelled.version = 2;
    respelled.updated_at = Some(now());
    store
        .customers
        .update(&CustomerChange::new(respelled.clone(), 1))
        .await
        .unwrap();
    assert_eq!(find(&store, &customer).await, Some(respelled));
}

pub async fn a_replacement_mail_cancels_the_queued_one_and_is_queued_in_its_place(store: Store) {
    let account = store.account().await;
    let customer = sample_customer(account, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    // Another customer's queued mail is not touched.
    let bystander = sample_customer(account, "bystander@example.com");
    insert(&store, &bystander).await;

    let mut new = changed(&customer);
    new.kyc_mail_status = KycMailStatus::Queued;
    let message_id = ports::kyc_message_id_for_version(customer.id, new.version);
    let change = CustomerChange::new(new, customer.version).with_kyc_mail(QueuedKycMail {
        message_id: message_id.clone(),
        due_at: now(),
    });
    store.customers.update(&change).await.unwrap();

    let mut queued: Vec<JobWork> = store
        .outbox
        .claim(&mails())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.work)
        .collect();
    queued.sort_by_key(|w| format!("{w:?}"));
    let mut expected = vec![
        JobWork::KycMail {
            customer_id: customer.id,
            message_id,
        },
        JobWork::KycMail {
            customer_id: bystander.id,
            message_id: ports::kyc_message_id(bystander.id),
        },
    ];
    expected.sort_by_key(|w| format!("{w:?}"));
    assert_eq!(queued, expected);
}

pub async fn an_update_writes_its_event_with_a_delivery_per_subscribed_endpoint(store: Store) {
    let customer = sample_customer(store.account().await, "tbash7676@gmail.com");
    insert(&store, &customer).await;
    endpoint(&store, customer.account_id, "[\"customer.updated\"]", true);
    endpoint(&store, customer.account_id, "[\"customer.deleted\"]", true);
    let new = changed(&customer);
    let event = events().about(WebhookEventType::CustomerUpdated, &new, None, now());
    store
        .customers
        .update(&CustomerChange::new(new, customer.version).with_event(event.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE id = '{}' AND event_type = 'customer.updated'",
            event.id.as_str()
        )),
        1
    );
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM outbox_jobs WHERE event_id = '{}'",
            event.id.as_str()
        )),
        1
    );
}

crate::stores::contract_suite!(
    an_update_writes_the_customer_as_changed_at_the_next_version,
    an_update_against_a_version_that_moved_writes_nothing,
    an_update_decided_before_a_watermark_moved_writes_nothing,
    two_updates_decided_on_one_version_give_one_change_and_one_conflict,
    a_change_that_does_not_make_the_next_version_is_refused,
    an_update_of_another_accounts_customer_writes_nothing,
    an_update_to_another_customers_address_in_any_case_is_a_duplicate,
    a_replacement_mail_cancels_the_queued_one_and_is_queued_in_its_place,
    an_update_writes_its_event_with_a_delivery_per_subscribed_endpoint,
);
