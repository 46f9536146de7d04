//! The store-health contract (readiness, pool state, outbox backlog) on both stores, and
//! readiness of a database whose migrations have not run.

use std::time::Duration;

use ports::StoreHealth;
use testkit::{registration, sample_customer, TempSqlite, TestPostgres};

use crate::stores::{contract_suite, test_pool_settings, Store};

pub async fn a_migrated_store_is_ready(store: Store) {
    assert_eq!(store.health.readiness().await, Ok(()));
}

pub async fn the_pool_state_counts_open_connections(store: Store) {
    store.health.readiness().await.unwrap();
    let state = store.health.pool_state();
    assert!(state.in_use + state.idle >= 1, "{state:?}");
}

pub async fn the_backlog_counts_queued_mails_and_their_age(store: Store) {
    let empty = store.health.outbox_backlog().await.unwrap();
    assert_eq!((empty.queued, empty.oldest_age), (0, None));

    let account = store.account().await;
    for email in ["one@example.com", "two@example.com"] {
        store
            .customers
            .insert(&registration(&sample_customer(account, email)))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let backlog = store.health.outbox_backlog().await.unwrap();
    assert_eq!(backlog.queued, 2);
    let age = backlog.oldest_age.unwrap();
    assert!(age < Duration::from_secs(60), "{age:?}");
}

contract_suite!(
    a_migrated_store_is_ready,
    the_pool_state_counts_open_connections,
    the_backlog_counts_queued_mails_and_their_age,
);

#[tokio::test]
async fn a_postgres_database_without_migrations_is_not_ready() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    let reason = store.readiness().await.unwrap_err();
    assert!(reason.contains("migrations"), "{reason}");
    assert!(!reason.contains(db.url()));
}

#[tokio::test]
async fn a_sqlite_database_without_migrations_is_not_ready() {
    let file = TempSqlite::new();
    let store = adapters::Store::connect_sqlite(&file.path(), &test_pool_settings()).unwrap();
    assert!(store.readiness().await.unwrap_err().contains("migrations"));
}

#[tokio::test]
async fn an_unreachable_postgres_is_not_ready_within_the_pool_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A lazily connecting pool, so that building it does not fail already.
    let pool = adapters::postgres::lazy_pool(
        &format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        &adapters::PoolSettings {
            max_size: 2,
            connection_timeout: Duration::from_millis(300),
        },
    );
    let store = adapters::Store::new(adapters::DbPool::Postgres(pool));
    let started = std::time::Instant::now();
    assert_eq!(
        store.readiness().await,
        Err("database unreachable".to_owned())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
