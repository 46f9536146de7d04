//! Reads made at the same moment go to the database together (lookups by id in one
//! statement, listings on one connection, identical questions answered once): each still
//! gets exactly its own answer, as fresh as a read of its own. Registrations made at the
//! same moment are written together, in one transaction: each still gets exactly its own
//! outcome, and one that fails takes none of the others with it. Run against every store.

use std::collections::HashMap;

use domain::{AccountId, Customer, CustomerId, KycStatus};
use futures_util::future::join_all;
use ports::{CustomerCursor, CustomerErasure, CustomerFilter, RepositoryError};
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

pub async fn duplicate_checks_at_the_same_moment_each_get_their_own_answer(store: Store) {
    let (ours, theirs) = (store.account().await, store.account().await);
    let own = customers_of(&store, ours, 3).await;
    let other = customers_of(&store, theirs, 2).await;
    let address = |raw: &str| domain::CustomerEmail::parse(raw).unwrap();
    // Own addresses (as stored, and in capitals), another account's, free ones.
    let mut asks: Vec<(domain::CustomerEmail, bool)> = Vec::new();
    for customer in &own {
        asks.push((customer.email.clone(), true));
        asks.push((address(&customer.email.as_str().to_uppercase()), true));
    }
    for customer in &other {
        asks.push((customer.email.clone(), false));
    }
    // More addresses than one statement carries (32).
    asks.extend((0..40).map(|n| (address(&format!("free{n}@example.com")), false)));
    for _ in 0..3 {
        let answers = join_all(
            asks.iter()
                .map(|(email, _)| store.customers.email_exists(ours, email)),
        )
        .await;
        for ((email, taken), answer) in asks.iter().zip(answers) {
            assert_eq!(answer.unwrap(), *taken, "{}", email.as_str());
        }
    }
}

/// What a registration made with others should come to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Stored,
    Duplicate,
    Erased,
    /// One of two registrations of the same new address: exactly one of them is stored.
    EitherOfTwo,
}

pub async fn registrations_at_the_same_moment_each_get_their_own_outcome(store: Store) {
    let account = store.account().await;
    let taken = customers_of(&store, account, 1).await.remove(0);
    let gone = sample_customer(account, "gone@example.com");
    store.customers.insert(&registration(&gone)).await.unwrap();
    store
        .customers
        .erase(&CustomerErasure::of(&gone, chrono::Utc::now()))
        .await
        .unwrap();
    for round in 0..3 {
        // Failures among successes, so that batches hold both.
        let mut asks: Vec<(Customer, Expected)> = Vec::new();
        for n in 0..12 {
            let fresh = sample_customer(account, &format!("r{round}-{n}@example.com"));
            asks.push((fresh, Expected::Stored));
            match n {
                2 => {
                    let address = taken.email.as_str().to_uppercase();
                    asks.push((sample_customer(account, &address), Expected::Duplicate));
                }
                5 => {
                    let mut again = sample_customer(account, &format!("again{round}@example.com"));
                    again.id = gone.id;
                    asks.push((again, Expected::Erased));
                }
                8 => {
                    let address = format!("twice{round}@example.com");
                    for _ in 0..2 {
                        asks.push((sample_customer(account, &address), Expected::EitherOfTwo));
                    }
                }
                _ => {}
            }
        }
        let records: Vec<_> = asks.iter().map(|(c, _)| registration(c)).collect();
        let outcomes = join_all(records.iter().map(|r| store.customers.insert(r))).await;
        let mut either = Vec::new();
        for ((customer, expected), outcome) in asks.iter().zip(outcomes) {
            let found = store.customers.find(account, customer.id).await.unwrap();
            match expected {
                Expected::Stored => {
                    outcome.unwrap();
                    assert_eq!(found.as_ref(), Some(customer));
                }
                Expected::Duplicate => {
                    assert!(
                        matches!(outcome, Err(RepositoryError::Duplicate)),
                        "{outcome:?}"
                    );
                    assert_eq!(found, None);
                }
                Expected::Erased => {
                    assert!(
                        matches!(outcome, Err(RepositoryError::Erased)),
                        "{outcome:?}"
                    );
                    assert_eq!(found, None);
                }
                Expected::EitherOfTwo => either.push((outcome, found, customer)),
            }
        }
        let [(first, first_found, one), (second, second_found, other)] =
            <[_; 2]>::try_from(either).unwrap();
        match (first, second) {
            (Ok(()), Err(RepositoryError::Duplicate)) => {
                assert_eq!((first_found.as_ref(), second_found), (Some(one), None));
            }
            (Err(RepositoryError::Duplicate), Ok(())) => {
                assert_eq!((first_found, second_found.as_ref()), (None, Some(other)));
            }
            outcomes => panic!("one of two registrations of one address: {outcomes:?}"),
        }
    }
    // The registrations stored, each with its queued mail, and nothing of the others.
    let stored = 1 + 3 * (12 + 1);
    let account_id = account.0;
    let customers = store.raw.count(&format!(
        "SELECT count(*) FROM customers WHERE account_id = '{account_id}'"
    ));
    assert_eq!(customers, stored);
    let mails = store.raw.count(&format!(
        "SELECT count(*) FROM outbox_jobs j JOIN customers c ON c.id = j.customer_id \
         WHERE c.account_id = '{account_id}' AND j.kind = 'kyc_mail'"
    ));
    assert_eq!(mails, stored);
}

crate::stores::contract_suite!(
    registrations_at_the_same_moment_each_get_their_own_outcome,
    duplicate_checks_at_the_same_moment_each_get_their_own_answer,
    lookups_at_the_same_moment_each_get_their_own_customer,
    listings_at_the_same_moment_each_get_their_own_page,
    a_read_sees_every_write_that_finished_before_it_was_asked,
);
