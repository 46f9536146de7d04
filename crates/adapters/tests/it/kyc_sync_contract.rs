//! The poller's queue contract — which customers are due, leases, marking a sync — written
//! once and run against both stores.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::{Customer, CustomerId, KycStatus, ProviderRef};
use ports::{KycSyncQueue, SyncClaim};
use testkit::{registration, sample_customer};

use crate::stores::Store;

fn claim(limit: u32, lease: Duration) -> SyncClaim {
    SyncClaim {
        provider: "bridge".into(),
        interval: Duration::from_secs(300),
        limit,
        lease,
    }
}

const LEASE: Duration = Duration::from_secs(60);

/// A Bridge customer in `status`, created long ago (so due unless synced lately).
async fn insert(store: &Store, email: &str, status: KycStatus) -> Customer {
    let mut customer = sample_customer(store.account().await, email);
    customer.kyc_state.kyc_status = status;
    customer.kyc.provider_link_id = Some(format!("link_{email}"));
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    set(store, &customer, "created_at = '2020-01-01T00:00:00.000Z'");
    customer
}

fn set(store: &Store, customer: &Customer, assignment: &str) {
    store.raw.execute(&format!(
        "UPDATE customers SET {assignment} WHERE id = '{}'",
        customer.id
    ));
}

fn ids(targets: &[ports::SyncTarget]) -> Vec<CustomerId> {
    targets.iter().map(|t| t.customer_id).collect()
}

pub async fn only_unfinished_customers_not_synced_lately_are_due_oldest_sync_first(store: Store) {
    let synced_long_ago = insert(&store, "a@example.com", KycStatus::NotStarted).await;
    set(
        &store,
        &synced_long_ago,
        "last_synced_at = '2024-01-01T00:00:00.000Z'",
    );
    let never_synced = insert(&store, "b@example.com", KycStatus::UnderReview).await;
    let synced_lately = insert(&store, "c@example.com", KycStatus::Incomplete).await;
    store
        .sync
        .mark_synced(synced_lately.id, Utc::now())
        .await
        .unwrap();
    for status in [
        KycStatus::Approved,
        KycStatus::Rejected,
        KycStatus::Offboarded,
    ] {
        insert(&store, &format!("{status}@example.com"), status).await;
    }
    let paused = insert(&store, "p@example.com", KycStatus::Paused).await;
    set(
        &store,
        &paused,
        "last_synced_at = '2025-01-01T00:00:00.000Z'",
    );
    let mut sandboxed = sample_customer(store.account().await, "s@example.com");
    sandboxed.kyc_provider = "sandbox".into();
    sandboxed.kyc_state.kyc_status = KycStatus::NotStarted;
    store
        .customers
        .insert(&registration(&sandboxed))
        .await
        .unwrap();
    set(
        &store,
        &sandboxed,
        "created_at = '2020-01-01T00:00:00.000Z'",
    );
    let unnamed = insert(&store, "u@example.com", KycStatus::NotStarted).await;
    set(
        &store,
        &unnamed,
        "kyc_link_id = NULL, provider_customer_id = NULL",
    );
    // Created a moment ago: not due before the interval has passed since its creation.
    let mut fresh = sample_customer(store.account().await, "f@example.com");
    fresh.kyc_state.kyc_status = KycStatus::NotStarted;
    store.customers.insert(&registration(&fresh)).await.unwrap();

    let leased = store.sync.claim_due(&claim(10, LEASE)).await.unwrap();
    assert_eq!(
        ids(&leased),
        [never_synced.id, synced_long_ago.id, paused.id],
        "oldest sync (or creation) first; final, lately synced, fresh, other providers' and unnamed customers left out"
    );
    assert_eq!(
        leased[0].target,
        ProviderRef::KycLink("link_b@example.com".into())
    );
    // Leased: nobody else gets them while the lease lasts.
    assert!(store
        .sync
        .claim_due(&claim(10, LEASE))
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_customer_known_only_by_its_provider_customer_id_is_polled_by_it(store: Store) {
    let customer = insert(&store, "a@example.com", KycStatus::UnderReview).await;
    set(&store, &customer, "kyc_link_id = NULL");
    let leased = store.sync.claim_due(&claim(10, LEASE)).await.unwrap();
    assert_eq!(
        leased[0].target,
        ProviderRef::ProviderCustomer(customer.kyc.provider_customer_id.clone().unwrap())
    );
}

pub async fn a_lease_that_ran_out_is_leased_again_and_a_sync_ends_it(store: Store) {
    let customer = insert(&store, "a@example.com", KycStatus::NotStarted).await;
    assert_eq!(
        ids(&store
            .sync
            .claim_due(&claim(10, Duration::ZERO))
            .await
            .unwrap()),
        [customer.id]
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        ids(&store.sync.claim_due(&claim(10, LEASE)).await.unwrap()),
        [customer.id]
    );
    let at = Utc::now();
    store.sync.mark_synced(customer.id, at).await.unwrap();
    let after = store
        .directory
        .customer_by_id(customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.last_synced_at.map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    // A sync is not a change of the customer.
    assert_eq!(after.version, customer.version);
    assert_eq!(after.updated_at, customer.updated_at);
    assert_eq!(
        store.raw.count(&format!(
            "SELECT count(*) FROM customers WHERE id = '{}' AND sync_locked_until IS NULL",
            customer.id
        )),
        1
    );
    // Synced just now: not due again before the interval.
    assert!(store
        .sync
        .claim_due(&claim(10, LEASE))
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_round_leases_at_most_its_batch(store: Store) {
    for i in 0..5 {
        insert(&store, &format!("c{i}@example.com"), KycStatus::NotStarted).await;
    }
    let mut seen = Vec::new();
    for expected in [2, 2, 1, 0] {
        let leased = store.sync.claim_due(&claim(2, LEASE)).await.unwrap();
        assert_eq!(leased.len(), expected);
        seen.extend(ids(&leased));
    }
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
}

pub async fn concurrent_claimers_never_lease_one_customer_twice(store: Store) {
    for i in 0..30 {
        insert(&store, &format!("c{i}@example.com"), KycStatus::UnderReview).await;
    }
    let sync: Arc<dyn KycSyncQueue> = store.sync.clone();
    let claimers: Vec<_> = (0..6)
        .map(|_| {
            let sync = sync.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let leased = sync.claim_due(&claim(3, LEASE)).await.unwrap();
                    if leased.is_empty() {
                        return mine;
                    }
                    mine.extend(ids(&leased));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    assert_eq!(all.len(), 30, "every customer leased exactly once");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 30);
}

crate::stores::contract_suite!(
    only_unfinished_customers_not_synced_lately_are_due_oldest_sync_first,
    a_customer_known_only_by_its_provider_customer_id_is_polled_by_it,
    a_lease_that_ran_out_is_leased_again_and_a_sync_ends_it,
    a_round_leases_at_most_its_batch,
    concurrent_claimers_never_lease_one_customer_twice,
);
