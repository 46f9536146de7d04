//! Reads made at the same moment go to the database together (lookups by id in one
//! statement, listings on one connection, identical questions answered once): each still
//! gets exactly its own answer, as fresh as a read of its own. Run against every store.

use std::collections::HashMap;

use domain::{AccountId, Customer, CustomerId, KycStatus};
use futures_util::future::join_all;
use ports::{CustomerCursor, CustomerFilter};
use testkit::{registration, sample_customer};

use crate::stores::Store;

/// `count` customers of `account`, a millisecond apart (newest last).
async fn customers_of(store: &Store, account: AccountId, count: i64) -> Vec<Customer> {
    let mut made = Vec::new();
    for n in 0..count {
        let mut customer = sample_customer(account, &format!("c{n}-{}@example.com", account.0));
        customer.created_at += chrono::TimeDelta::milliseconds(n);
        if n % 3 == 0 {
            customer.kyc_state.kyc_status = KycStatus::Approved;
            customer.kyc_state.rejection_reasons.clear();
        }
        store
            .customers
            .insert(&registration(&customer))
            .await
            .unwrap();
        made.push(customer);
    }
    made
}

pub async fn lookups_at_the_same_moment_each_get_their_own_customer(store: Store) {
    let (ours, theirs) = (store.account().await, store.account().await);
    let own = customers_of(&store, ours, 12).await;
    let other = customers_of(&store, theirs, 4).await;
    // Own customers (some asked for several times), another account's, unknown ids.
    let mut asks: Vec<(CustomerId, Option<&Customer>)> = Vec::new();
    for round in 0..3 {
        for customer in &own {
            asks.push((customer.id, Some(customer)));
        }
        for customer in &other {
            asks.push((customer.id, None));
        }
        if round == 0 {
            // With them, more ids than one statement carries (32).
            asks.extend((0..30).map(|_| (CustomerId::new_random(), None)));
        }
    }
    let found = join_all(asks.iter().map(|(id, _)| store.customers.find(ours, *id))).await;
    for ((id, expected), found) in asks.iter().zip(found) {
        assert_eq!(found.unwrap().as_ref(), *expected, "customer {id:?}");
    }
    // The directory (webhooks, the KYC poller) sees every account's customers.
    let everyone: Vec<&Customer> = own.iter().chain(&other).collect();
    let found = join_all(
        everyone
            .iter()
            .map(|c| store.directory.customer_by_id(c.id)),
    )
    .await;
    for (customer, found) in everyone.into_iter().zip(found) {
        assert_eq!(found.unwrap().as_ref(), Some(customer));
    }
}

pub async fn listings_at_the_same_moment_each_get_their_own_page(store: Store) {
    let (ours, theirs) = (store.account().await, store.account().await);
    let own = customers_of(&store, ours, 9).await;
    customers_of(&store, theirs, 5).await;
    let after = |customer: &Customer| CustomerCursor {
        created_at: customer.created_at,
        id: customer.id,
    };
    let approved = CustomerFilter {
        email: None,
        kyc_status: Some(KycStatus::Approved),
    };
    let by_email = CustomerFilter {
        email: Some(own[4].email.as_str().to_uppercase()),
        kyc_status: None,
    };
    let all = CustomerFilter::default();
    // Pages of both accounts, with and without filters and cursors, each asked for twice.
    let asks: Vec<(AccountId, &CustomerFilter, Option<CustomerCursor>, u32)> = [
        (ours, &all, None, 4),
        (ours, &all, None, 20),
        (ours, &all, Some(after(&own[6])), 3),
        (ours, &approved, None, 10),
        (ours, &by_email, None, 10),
        (theirs, &all, None, 10),
    ]
    .into_iter()
    .flat_map(|ask| [ask, ask])
    .collect();
    // The answers of the same questions asked one at a time.
    let mut expected = HashMap::new();
    for (n, (account, filter, cursor, limit)) in asks.iter().enumerate() {
        let page = store
            .customers
            .list(*account, filter, *cursor, *limit)
            .await
            .unwrap();
        expected.insert(n, page.into_iter().map(|c| c.id).collect::<Vec<_>>());
    }
    // (Each question is asked twice: the n-th question is ask 2n.)
    assert_eq!(expected[&0].len(), 4);
    assert_eq!(expected[&4].first(), Some(&own[5].id));
    assert_eq!(expected[&8], vec![own[4].id]);
    assert_eq!(expected[&10].len(), 5);
    for _ in 0..3 {
        let pages = join_all(asks.iter().map(|(account, filter, cursor, limit)| {
            store.customers.list(*account, filter, *cursor, *limit)
        }))
        .await;
        for (n, page) in pages.into_iter().enumerate() {
            let ids: Vec<_> = page.unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(ids, expected[&n], "ask {n}: {:?}", asks[n]);
        }
    }
}

pub async fn a_read_sees_every_write_that_finished_before_it_was_asked(store: Store) {
    let account = store.account().await;
    let seed = customers_of(&store, account, 3).await;
    // Reads keep going meanwhile, so that every new read joins others on their way.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let (store, stop, id) = (store.clone(), stop.clone(), seed[0].id);
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reads = (0..8).map(|_| store.customers.find(account, id));
                for found in join_all(reads).await {
                    assert!(found.unwrap().is_some());
                }
            }
        })
    };
    for n in 0..40 {
        let customer = sample_customer(account, &format!("fresh{n}@example.com"));
        store
            .customers
            .insert(&registration(&customer))
            .await
            .unwrap();
        let by_email = CustomerFilter {
            email: Some(customer.email.as_str().to_owned()),
            kyc_status: None,
        };
        let (found, page) = tokio::join!(
            store.customers.find(account, customer.id),
            store.customers.list(account, &by_email, None, 1),
        );
        assert_eq!(found.unwrap().map(|c| c.id), Some(customer.id));
        let page: Vec<_> = page.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(page, vec![customer.id]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    background.await.unwrap();
}

crate::stores::contract_suite!(
    lookups_at_the_same_moment_each_get_their_own_customer,
    listings_at_the_same_moment_each_get_their_own_page,
    a_read_sees_every_write_that_finished_before_it_was_asked,
);
