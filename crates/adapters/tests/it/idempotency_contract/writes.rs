//! A registration under a key on each store: the customer and the key's outcome are written
//! in one transaction, or neither is.

use domain::CustomerId;
use ports::{Begun, IdempotencyCompletion, RepositoryError, StoredResponse};
use testkit::{registration, sample_customer};

use super::{base, claim, completion, fresh, response, scope, secs};
use crate::stores::Store;

pub async fn a_registration_finishes_its_key_in_its_own_transaction(store: Store) {
    let account = store.account().await;
    let scope = scope(account, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    let mut customer = sample_customer(account, "ada@example.com");
    customer.id = CustomerId(key.reserved_id);
    let record = registration(&customer).with_idempotency(IdempotencyCompletion {
        customer_id: Some(customer.id),
        ..completion(key, now)
    });
    store.customers.insert(&record).await.unwrap();

    assert_eq!(
        store.customers.find(account, customer.id).await.unwrap(),
        Some(customer)
    );
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(1)))
            .await
            .unwrap(),
        Begun::Replay(response())
    );
}

pub async fn a_registration_whose_key_was_taken_over_writes_nothing(store: Store) {
    let account = store.account().await;
    let scope = scope(account, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let stale = fresh(&store, &first).await;
    store
        .idempotency
        .begin(&claim(&scope, 1, now + secs(61)))
        .await
        .unwrap();
    let mut customer = sample_customer(account, "ada@example.com");
    customer.id = CustomerId(stale.reserved_id);
    let record = registration(&customer).with_idempotency(completion(stale, now));
    let err = store.customers.insert(&record).await.unwrap_err();
    assert!(matches!(err, RepositoryError::Unexpected(_)), "{err:?}");
    assert_eq!(
        store.customers.find(account, customer.id).await.unwrap(),
        None
    );
    assert!(store
        .outbox
        .claim(&ports::ClaimRequest {
            kind: ports::JobKind::KycMail,
            limit: 10,
            lease: std::time::Duration::from_secs(60),
            per_endpoint: None,
        })
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_duplicate_registration_leaves_its_key_held_and_unfinished(store: Store) {
    let account = store.account().await;
    store
        .customers
        .insert(&registration(&sample_customer(account, "ada@example.com")))
        .await
        .unwrap();
    let scope = scope(account, "k1");
    let now = base();
    let first = claim(&scope, 1, now);
    let key = fresh(&store, &first).await;
    let mut twin = sample_customer(account, "ADA@example.com");
    twin.id = CustomerId(key.reserved_id);
    let record = registration(&twin).with_idempotency(completion(key.clone(), now));
    let err = store.customers.insert(&record).await.unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(1)))
            .await
            .unwrap(),
        Begun::InProgress
    );
    // The outcome the request then stores is the key's.
    let conflict = StoredResponse {
        status: 409,
        content_type: Some("application/json".into()),
        location: None,
        body: br#"{"code":"customer_exists"}"#.to_vec(),
    };
    assert!(store
        .idempotency
        .complete(&IdempotencyCompletion {
            response: conflict.clone(),
            ..completion(key, now)
        })
        .await
        .unwrap());
    assert_eq!(
        store
            .idempotency
            .begin(&claim(&scope, 1, now + secs(2)))
            .await
            .unwrap(),
        Begun::Replay(conflict)
    );
}

crate::stores::contract_suite!(
    a_registration_finishes_its_key_in_its_own_transaction,
    a_registration_whose_key_was_taken_over_writes_nothing,
    a_duplicate_registration_leaves_its_key_held_and_unfinished,
);

/// The customer a finished key names, read straight from the table.
async fn named_customer(store: &Store, read: impl FnOnce() -> Option<String>) -> Option<String> {
    let account = store.account().await;
    let scope = scope(account, "k1");
    let now = base();
    let key = fresh(store, &claim(&scope, 1, now)).await;
    let mut customer = sample_customer(account, "ada@example.com");
    customer.id = CustomerId(key.reserved_id);
    let record = registration(&customer).with_idempotency(IdempotencyCompletion {
        customer_id: Some(customer.id),
        ..completion(key, now)
    });
    store.customers.insert(&record).await.unwrap();
    let named = read();
    assert_eq!(named, Some(customer.id.to_string()));
    named
}

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    customer_id: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_key_names_its_customer_on_postgres() {
    use diesel::{Connection, RunQueryDsl};
    let Some((db, store)) = crate::stores::postgres() else {
        return;
    };
    named_customer(&store, || {
        let mut conn = diesel::PgConnection::establish(db.url()).unwrap();
        diesel::sql_query("SELECT customer_id::text AS customer_id FROM idempotency_keys")
            .get_result::<Named>(&mut conn)
            .unwrap()
            .customer_id
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_key_names_its_customer_on_sqlite() {
    use diesel::{Connection, RunQueryDsl};
    let Some((file, store)) = crate::stores::sqlite() else {
        return;
    };
    named_customer(&store, || {
        let mut conn = diesel::SqliteConnection::establish(file.path().to_str().unwrap()).unwrap();
        diesel::sql_query("SELECT customer_id FROM idempotency_keys")
            .get_result::<Named>(&mut conn)
            .unwrap()
            .customer_id
    })
    .await;
}
