//! The customer repository contract, written once and run against every adapter.

use std::collections::HashSet;

use domain::{CustomerEmail, KycStatus};
use ports::{CustomerCursor, CustomerFilter, RepositoryError};
use testkit::{registration, sample_customer};

use crate::stores::Store;

pub async fn insert_then_find_returns_the_identical_customer(store: Store) {
    let customer = sample_customer(store.account().await, "Tbash7676@Gmail.com");
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    let found = store
        .customers
        .find(customer.account_id, customer.id)
        .await
        .unwrap();
    assert_eq!(found, Some(customer));
}

pub async fn insert_rejects_the_same_email_in_the_same_account_in_any_case(store: Store) {
    let owner = store.account().await;
    store
        .customers
        .insert(&registration(&sample_customer(owner, "ada@example.com")))
        .await
        .unwrap();
    let err = store
        .customers
        .insert(&registration(&sample_customer(owner, "ADA@Example.COM")))
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
}

pub async fn insert_allows_the_same_email_in_another_account(store: Store) {
    store
        .customers
        .insert(&registration(&sample_customer(
            store.account().await,
            "ada@example.com",
        )))
        .await
        .unwrap();
    store
        .customers
        .insert(&registration(&sample_customer(
            store.account().await,
            "ada@example.com",
        )))
        .await
        .unwrap();
}

pub async fn find_never_returns_another_accounts_customer(store: Store) {
    let customer = sample_customer(store.account().await, "ada@example.com");
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    assert_eq!(
        store
            .customers
            .find(store.account().await, customer.id)
            .await
            .unwrap(),
        None
    );
}

pub async fn find_returns_none_for_an_unknown_id(store: Store) {
    let customer = sample_customer(store.account().await, "ada@example.com");
    assert_eq!(
        store
            .customers
            .find(customer.account_id, customer.id)
            .await
            .unwrap(),
        None
    );
}

pub async fn email_exists_is_case_insensitive_and_scoped_to_the_account(store: Store) {
    let customer = sample_customer(store.account().await, "ada@example.com");
    store
        .customers
        .insert(&registration(&customer))
        .await
        .unwrap();
    let upper = CustomerEmail::parse("ADA@EXAMPLE.COM").unwrap();
    assert!(store
        .customers
        .email_exists(customer.account_id, &upper)
        .await
        .unwrap());
    assert!(!store
        .customers
        .email_exists(store.account().await, &upper)
        .await
        .unwrap());
    let other = CustomerEmail::parse("bob@example.com").unwrap();
    assert!(!store
        .customers
        .email_exists(customer.account_id, &other)
        .await
        .unwrap());
}

pub async fn concurrent_inserts_of_one_email_store_exactly_one(store: Store) {
    let owner = store.account().await;
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let repo = store.customers.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            let customer = sample_customer(owner, email);
            tokio::spawn(async move { repo.insert(&registration(&customer)).await })
        })
        .collect();
    let mut stored = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => stored += 1,
            Err(RepositoryError::Duplicate) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(stored, 1);
}

crate::stores::contract_suite!(
    insert_then_find_returns_the_identical_customer,
    insert_rejects_the_same_email_in_the_same_account_in_any_case,
    insert_allows_the_same_email_in_another_account,
    find_never_returns_another_accounts_customer,
    find_returns_none_for_an_unknown_id,
    email_exists_is_case_insensitive_and_scoped_to_the_account,
    concurrent_inserts_of_one_email_store_exactly_one,
    list_is_newest_first_and_only_the_accounts_own,
    list_filters_by_email_case_insensitively_and_by_kyc_status,
    paging_walks_every_customer_exactly_once_while_new_ones_arrive,
);

pub async fn list_is_newest_first_and_only_the_accounts_own(store: Store) {
    let owner = store.account().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut c = sample_customer(owner, &format!("c{i}@example.com"));
        c.created_at += chrono::TimeDelta::milliseconds(i);
        store.customers.insert(&registration(&c)).await.unwrap();
        ids.push(c.id);
    }
    store
        .customers
        .insert(&registration(&sample_customer(
            store.account().await,
            "x@example.com",
        )))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .customers
        .list(owner, &CustomerFilter::default(), None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
}

pub async fn list_filters_by_email_case_insensitively_and_by_kyc_status(store: Store) {
    let owner = store.account().await;
    let mut approved = sample_customer(owner, "Ada@Example.com");
    approved.kyc_state.kyc_status = KycStatus::Approved;
    approved.kyc_state.rejection_reasons.clear();
    store
        .customers
        .insert(&registration(&approved))
        .await
        .unwrap();
    store
        .customers
        .insert(&registration(&sample_customer(owner, "bob@example.com")))
        .await
        .unwrap();
    let by_email = CustomerFilter {
        email: Some("ADA@example.COM".into()),
        kyc_status: None,
    };
    let found = store
        .customers
        .list(owner, &by_email, None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, approved.id);
    let by_status = CustomerFilter {
        email: None,
        kyc_status: Some(KycStatus::Approved),
    };
    let found = store
        .customers
        .list(owner, &by_status, None, 10)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![approved.id]
    );
}

pub async fn paging_walks_every_customer_exactly_once_while_new_ones_arrive(store: Store) {
    let owner = store.account().await;
    let mut existing = HashSet::new();
    for i in 0..25 {
        let c = sample_customer(owner, &format!("c{i}@example.com"));
        store.customers.insert(&registration(&c)).await.unwrap();
        existing.insert(c.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut extra = 0;
    loop {
        // A new customer arrives between every two pages.
        let newcomer = sample_customer(owner, &format!("new{extra}@example.com"));
        extra += 1;
        store
            .customers
            .insert(&registration(&newcomer))
            .await
            .unwrap();
        if after.is_none() {
            // The first page is read after the first newcomer; it may include it.
            existing.insert(newcomer.id);
        }
        let page = store
            .customers
            .list(owner, &CustomerFilter::default(), after, 4)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(CustomerCursor {
            created_at: last.created_at,
            id: last.id,
        });
        seen.extend(page.into_iter().map(|c| c.id));
    }
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a customer was listed twice");
    assert_eq!(unique, existing, "the walk missed or invented customers");
}
