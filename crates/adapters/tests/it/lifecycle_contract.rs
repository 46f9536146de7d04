//! The KYC lifecycle's store contract — matching reports to customers, one transaction per
//! report under a compare-and-set, exactly-once receipts, history, retention — written once
//! and run against both stores, through the real use case where the path matters.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{
    Customer, KycHistoryEntry, KycOrder, KycSource, KycStatus, KycUpdate, ProviderRef, TosStatus,
};
use ports::{
    ApplyOutcome, EventDraft, EventReceipt, Events, KycChange, KycLifecycle, KycLifecycleService,
    KycReportRecord, Presenter, Recorded,
};
use testkit::{registration, sample_customer};
use uuid::Uuid;

use crate::stores::Store;

/// Renders an event as its type, so tests can see what was written.
pub(crate) struct TypePresenter;

impl Presenter for TypePresenter {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"type\":\"{}\"}}", draft.event_type)
    }
}

fn lifecycle(store: &Store) -> KycLifecycleService {
    KycLifecycleService::new(
        store.kyc.clone(),
        store.customers.clone(),
        Events::new(Arc::new(TypePresenter)),
    )
}

/// A Bridge customer with link `link`, not started as of its creation.
async fn insert(store: &Store, email: &str, link: &str) -> Customer {
    let mut customer = sample_customer(store.account().await, email);
    customer.kyc.provider_link_id = Some(link.to_owned());
    customer.kyc.provider_customer_id = None;
    customer.kyc_state = domain::KycState::not_started();
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    customer
}

async fn reread(store: &Store, customer: &Customer) -> Customer {
    store
        .directory
        .customer_by_id(customer.id)
        .await
        .unwrap()
        .unwrap()
}

fn event(id: &str, link: &str, status: KycStatus, at: DateTime<Utc>) -> KycUpdate {
    KycUpdate {
        source: KycSource::Webhook,
        event_id: Some(id.to_owned()),
        target: ProviderRef::KycLink(link.to_owned()),
        kyc_status: Some(status),
        tos_status: None,
        rejection_reasons: None,
        provider_customer_id: None,
        order: KycOrder::at(at),
    }
}

/// Registers an enabled webhook endpoint receiving every event type for `account`.
pub(crate) fn endpoint(store: &Store, account: domain::AccountId) {
    let id = Uuid::new_v4();
    store.raw.execute(&format!(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, \
         secret_ciphertext, created_at) VALUES ('{id}', '{account}', \
         'https://receiver.example/hook', '[]', true, 'sealed', '2026-01-01T00:00:00.000Z')"
    ));
}

/// A moment after the customers' creation (a report older than that is stale).
fn later(secs: i64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::seconds(secs)
}

pub async fn a_report_finds_the_customers_of_its_provider_by_link_or_customer_id(store: Store) {
    let first = insert(&store, "a@example.com", "kyc_link_shared").await;
    // Bridge answered `duplicate_record` for the same person in another account.
    let second = insert(&store, "a@example.com", "kyc_link_shared").await;
    let mut sandboxed = sample_customer(store.account().await, "s@example.com");
    sandboxed.kyc_provider = "sandbox".into();
    sandboxed.kyc.provider_link_id = Some("kyc_link_shared".into());
    store
        .customers
        .insert(&registration(&sandboxed))
        .await
        .unwrap();
    let found = store
        .kyc
        .customers_matching("bridge", &ProviderRef::KycLink("kyc_link_shared".into()))
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|c| c.id).collect();
    assert_eq!(ids, [first.id, second.id]);
    assert_eq!(found[0], first);
    let by_customer = store
        .kyc
        .customers_matching(
            "sandbox",
            &ProviderRef::ProviderCustomer(sandboxed.kyc.provider_customer_id.clone().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(by_customer, vec![sandboxed]);
    assert!(store
        .kyc
        .customers_matching("bridge", &ProviderRef::KycLink("nobody".into()))
        .await
        .unwrap()
        .is_empty());
}

pub async fn an_applied_report_writes_state_history_receipt_and_events_in_one_go(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    endpoint(&store, customer.account_id);
    let at = later(60);
    let mut report = event("wh_1", "kyc_link_1", KycStatus::Approved, at);
    report.provider_customer_id = Some("cust_1".into());
    report.tos_status = Some(TosStatus::Approved);
    let outcome = lifecycle(&store).apply("bridge", report).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied);

    let after = reread(&store, &customer).await;
    assert_eq!(after.kyc_state.kyc_status, KycStatus::Approved);
    assert_eq!(after.kyc_state.tos_status, TosStatus::Approved);
    assert_eq!(after.kyc.provider_customer_id.as_deref(), Some("cust_1"));
    assert_eq!(after.version, customer.version + 1);
    assert!(after.updated_at.is_some());
    assert_eq!(after.kyc_as_of.at.timestamp_millis(), at.timestamp_millis());

    let history = store.kyc.history(customer.id).await.unwrap();
    assert_eq!(history.len(), 1);
    let entry = &history[0];
    assert_eq!(
        (
            entry.from,
            entry.to,
            entry.tos_status,
            entry.source,
            entry.applied
        ),
        (
            KycStatus::NotStarted,
            KycStatus::Approved,
            TosStatus::Approved,
            KycSource::Webhook,
            true
        )
    );
    assert_eq!(entry.event_id.as_deref(), Some("wh_1"));
    assert_eq!(
        store.raw.count(
            "SELECT count(*) FROM provider_events WHERE provider = 'bridge' \
             AND event_id = 'wh_1' AND outcome = 'applied'"
        ),
        1
    );
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE customer_id = '{}' AND event_type IN \
             ('customer.kyc.updated', 'customer.kyc.approved')",
            customer.id
        )),
        2
    );
}

pub async fn a_redelivered_event_is_a_duplicate_and_changes_nothing(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    let lifecycle = lifecycle(&store);
    let report = event("wh_1", "kyc_link_1", KycStatus::UnderReview, later(60));
    assert_eq!(
        lifecycle.apply("bridge", report.clone()).await.unwrap(),
        ApplyOutcome::Applied
    );
    let once = reread(&store, &customer).await;
    assert_eq!(
        lifecycle.apply("bridge", report).await.unwrap(),
        ApplyOutcome::Duplicate
    );
    assert_eq!(reread(&store, &customer).await, once);
    assert_eq!(store.kyc.history(customer.id).await.unwrap().len(), 1);
    // An event for nobody is recorded too, so its redelivery is a duplicate as well.
    let nobody = event("wh_2", "kyc_link_unknown", KycStatus::Approved, later(60));
    assert_eq!(
        lifecycle.apply("bridge", nobody.clone()).await.unwrap(),
        ApplyOutcome::Unmatched
    );
    assert_eq!(
        lifecycle.apply("bridge", nobody).await.unwrap(),
        ApplyOutcome::Duplicate
    );
    // Event ids are unique per provider only.
    let sandbox_event = event("wh_1", "kyc_link_unknown", KycStatus::Approved, later(60));
    assert_eq!(
        lifecycle.apply("sandbox", sandbox_event).await.unwrap(),
        ApplyOutcome::Unmatched
    );
}

pub async fn an_older_event_is_kept_in_the_history_but_changes_nothing(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    let lifecycle = lifecycle(&store);
    lifecycle
        .apply(
            "bridge",
            event("wh_2", "kyc_link_1", KycStatus::Approved, later(60)),
        )
        .await
        .unwrap();
    let approved = reread(&store, &customer).await;
    let outcome = lifecycle
        .apply(
            "bridge",
            event("wh_1", "kyc_link_1", KycStatus::UnderReview, later(30)),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Stale);
    assert_eq!(reread(&store, &customer).await, approved);
    let history = store.kyc.history(customer.id).await.unwrap();
    // Oldest first by the moment each report describes: the stale one comes first.
    let seen: Vec<_> = history
        .iter()
        .map(|e| (e.event_id.as_deref().unwrap(), e.to, e.applied))
        .collect();
    assert_eq!(
        seen,
        [
            ("wh_1", KycStatus::UnderReview, false),
            ("wh_2", KycStatus::Approved, true)
        ]
    );
    assert_eq!(history[0].from, KycStatus::Approved);
}

pub async fn a_change_whose_customer_moved_meanwhile_writes_nothing(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    let mut after = customer.clone();
    after.kyc_state.kyc_status = KycStatus::Approved;
    after.version += 1;
    let change = |expected_version: i64, expected_as_of: KycOrder| KycChange {
        expected_version,
        expected_as_of,
        customer: after.clone(),
    };
    let entry = KycHistoryEntry {
        customer_id: customer.id,
        from: KycStatus::NotStarted,
        to: KycStatus::Approved,
        tos_status: TosStatus::Pending,
        source: KycSource::Webhook,
        event_id: Some("wh_1".into()),
        at: Utc::now(),
        recorded_at: Utc::now(),
        applied: true,
    };
    let mut record = KycReportRecord::default();
    record.receipt = Some(EventReceipt {
        provider: "bridge".into(),
        event_id: "wh_1".into(),
        received_at: Utc::now(),
        outcome: ApplyOutcome::Applied,
    });
    record.history.push(entry);
    // A version that moved, and a watermark that moved: each is a conflict.
    for stale in [
        change(customer.version + 1, customer.kyc_as_of),
        change(
            customer.version,
            KycOrder::at(customer.kyc_as_of.at - TimeDelta::seconds(1)),
        ),
        change(
            customer.version,
            KycOrder {
                sequence: Some(3),
                at: customer.kyc_as_of.at,
            },
        ),
    ] {
        record.changes = vec![stale];
        assert_eq!(
            store.kyc.record(&record).await.unwrap(),
            Recorded::VersionConflict
        );
        assert_eq!(reread(&store, &customer).await, customer);
        assert!(store.kyc.history(customer.id).await.unwrap().is_empty());
        assert_eq!(store.raw.count("SELECT count(*) FROM provider_events"), 0);
    }
    record.changes = vec![change(customer.version, customer.kyc_as_of)];
    assert_eq!(store.kyc.record(&record).await.unwrap(), Recorded::Written);
    assert_eq!(
        reread(&store, &customer).await.version,
        customer.version + 1
    );
    // The receipt is written first: a second record of the same event writes nothing.
    assert_eq!(
        store.kyc.record(&record).await.unwrap(),
        Recorded::DuplicateEvent
    );
    assert_eq!(store.kyc.history(customer.id).await.unwrap().len(), 1);
}

pub async fn racing_reports_for_one_customer_end_as_if_they_came_in_order(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    let lifecycle = Arc::new(lifecycle(&store));
    let base = Utc::now() + TimeDelta::minutes(1);
    let statuses = [
        KycStatus::Incomplete,
        KycStatus::UnderReview,
        KycStatus::AwaitingUbo,
        KycStatus::Rejected,
        KycStatus::Approved,
    ];
    // Twenty reports, each a different status from its neighbours, sent all at once in a
    // scrambled order.
    let reports: Vec<KycUpdate> = (0..20)
        .map(|i| {
            event(
                &format!("wh_{i}"),
                "kyc_link_1",
                statuses[i % statuses.len()],
                base + TimeDelta::seconds(i64::try_from(i).unwrap()),
            )
        })
        .collect();
    let newest = reports[19].clone();
    let mut order: Vec<usize> = (0..20).collect();
    order.reverse();
    order.swap(0, 7);
    let tasks: Vec<_> = order
        .into_iter()
        .map(|i| {
            let lifecycle = lifecycle.clone();
            let report = reports[i].clone();
            tokio::spawn(async move { lifecycle.apply("bridge", report).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_ne!(task.await.unwrap(), ApplyOutcome::Duplicate);
    }
    let after = reread(&store, &customer).await;
    assert_eq!(Some(after.kyc_state.kyc_status), newest.kyc_status);
    assert_eq!(
        after.kyc_as_of.at.timestamp_millis(),
        newest.order.at.timestamp_millis()
    );
    // No report is in the history twice; the applied ones never step back in time, and
    // each applied one is one version.
    let history = store.kyc.history(customer.id).await.unwrap();
    let mut ids: Vec<_> = history
        .iter()
        .map(|e| e.event_id.clone().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), history.len());
    let applied: Vec<_> = history.iter().filter(|e| e.applied).collect();
    assert!(!applied.is_empty());
    assert!(applied.windows(2).all(|w| w[0].at < w[1].at));
    assert!(history
        .iter()
        .filter(|e| !e.applied)
        .all(|e| e.at < newest.order.at));
    assert_eq!(
        after.version,
        customer.version + i64::try_from(applied.len()).unwrap()
    );
    assert_eq!(store.raw.count("SELECT count(*) FROM provider_events"), 20);
}

pub async fn receipts_older_than_the_cut_are_purged_and_the_history_stays(store: Store) {
    let customer = insert(&store, "a@example.com", "kyc_link_1").await;
    lifecycle(&store)
        .apply(
            "bridge",
            event("wh_1", "kyc_link_1", KycStatus::Approved, later(60)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .kyc
            .purge_receipts(Utc::now() - TimeDelta::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .kyc
            .purge_receipts(Utc::now() + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.raw.count("SELECT count(*) FROM provider_events"), 0);
    assert_eq!(store.kyc.history(customer.id).await.unwrap().len(), 1);
}

crate::stores::contract_suite!(
    a_report_finds_the_customers_of_its_provider_by_link_or_customer_id,
    an_applied_report_writes_state_history_receipt_and_events_in_one_go,
    a_redelivered_event_is_a_duplicate_and_changes_nothing,
    an_older_event_is_kept_in_the_history_but_changes_nothing,
    a_change_whose_customer_moved_meanwhile_writes_nothing,
    racing_reports_for_one_customer_end_as_if_they_came_in_order,
    receipts_older_than_the_cut_are_purged_and_the_history_stays,
);
