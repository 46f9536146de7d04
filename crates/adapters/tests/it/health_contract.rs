//! The store-health contract (readiness, pool state, outbox backlog, planner statistics)
//! on both stores, readiness of a database whose migrations have not run, and the plan
//! that refreshed statistics give the listing of a small, never analysed table.

use std::time::Duration;

use ports::StoreHealth;
use testkit::{registration, sample_customer, TempSqlite, TestPostgres};

use crate::stores::{contract_suite, test_pool_settings, RawDb, Store};

pub async fn a_migrated_store_is_ready(store: Store) {
    assert_eq!(store.health.readiness().await, Ok(()));
}

pub async fn the_pool_state_counts_open_connections(store: Store) {
    store.health.readiness().await.unwrap();
    let state = store.health.pool_state();
    assert!(state.in_use + state.idle >= 1, "{state:?}");
}

/// Two customers of `account`, registered through the store (each queues its KYC mail).
async fn insert_two_customers(store: &Store, account: domain::AccountId) {
    for email in ["one@example.com", "two@example.com"] {
        store
            .customers
            .insert(&registration(&sample_customer(account, email)))
            .await
            .unwrap();
    }
}

pub async fn the_backlog_counts_queued_mails_and_their_age(store: Store) {
    let empty = store.health.outbox_backlog().await.unwrap();
    assert_eq!((empty.queued, empty.oldest_age), (0, None));

    let account = store.account().await;
    insert_two_customers(&store, account).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let backlog = store.health.outbox_backlog().await.unwrap();
    assert_eq!(backlog.queued, 2);
    let age = backlog.oldest_age.unwrap();
    assert!(age < Duration::from_secs(60), "{age:?}");
}

/// `count` customers of `account`, written around the store on a connection that then
/// closes (PostgreSQL counts a connection's changes for certain when it ends).
fn grow_postgres(url: &str, account: domain::AccountId, count: u32) {
    use diesel::connection::SimpleConnection as _;
    use diesel::Connection as _;
    diesel::PgConnection::establish(url)
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO customers (id, account_id, full_name, email, phone, country,
                 customer_type, send_kyc_mail, kyc_provider, kyc_link_id, kyc_link, tos_link,
                 kyc_status, tos_status, created_at, kyc_mail_status)
             SELECT gen_random_uuid(), '{account}', 'Grown Customer',
                 'grown' || g || '@example.com', '+14155552671', 'USA', 'individual', false,
                 'sandbox', 'link-' || g, 'https://k.example/' || g, 'https://t.example/' || g,
                 'not_started', 'pending', now() - make_interval(secs => g), 'not_requested'
               FROM generate_series(1, {count}) AS g",
            account = account.0,
        ))
        .unwrap();
}

/// The tables `refresh_statistics` refreshes, asked until it names `table` (PostgreSQL's
/// counters reach other connections a moment after the writer's end) or for 10 s.
async fn refreshed_until(store: &Store, table: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let refreshed = store.statistics.refresh_statistics().await.unwrap();
        if refreshed.iter().any(|t| t == table) || std::time::Instant::now() > deadline {
            return refreshed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn statistics_are_refreshed_where_many_rows_changed(store: Store) {
    let account = store.account().await;
    match &store.raw {
        RawDb::Postgres(url) => {
            grow_postgres(url, account, 500);
            let refreshed = refreshed_until(&store, "customers").await;
            assert!(refreshed.iter().any(|t| t == "customers"), "{refreshed:?}");
            assert_eq!(
                store.raw.count(
                    "SELECT count(*) FROM pg_stat_user_tables \
                     WHERE relname = 'customers' AND last_analyze IS NOT NULL"
                ),
                1
            );
            // Refreshed: nothing is stale any more until many rows change again.
            let again = store.statistics.refresh_statistics().await.unwrap();
            assert!(!again.iter().any(|t| t == "customers"), "{again:?}");
        }
        RawDb::Sqlite(_) => {
            // SQLite plans without statistics, and none are ever gathered.
            insert_two_customers(&store, account).await;
            assert_eq!(
                store.statistics.refresh_statistics().await.unwrap(),
                Vec::<String>::new()
            );
            assert_eq!(
                store
                    .raw
                    .count("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"),
                0
            );
        }
    }
}

contract_suite!(
    a_migrated_store_is_ready,
    the_pool_state_counts_open_connections,
    the_backlog_counts_queued_mails_and_their_age,
    statistics_are_refreshed_where_many_rows_changed,
);

/// A few thousand customers in a never analysed table: PostgreSQL guessed the account's
/// rows from the table's size and sorted the whole account for a page (5.8 ms a page
/// instead of 0.09 ms). Once the store refreshed the statistics, the page is read in the
/// listing index's order and no sort is left.
#[tokio::test]
async fn a_refresh_gives_the_listing_of_a_small_table_its_index_order() {
    let Some((db, store)) = crate::stores::postgres() else {
        return;
    };
    let account = store.account().await;
    grow_postgres(db.url(), account, 4_500);
    let refreshed = refreshed_until(&store, "customers").await;
    assert!(refreshed.iter().any(|t| t == "customers"), "{refreshed:?}");

    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    let mut conn = diesel::PgConnection::establish(db.url()).unwrap();
    let plan = diesel::sql_query(format!(
        "EXPLAIN (FORMAT JSON) SELECT id FROM customers WHERE account_id = '{}' \
         ORDER BY created_at DESC, id DESC LIMIT 21",
        account.0
    ))
    .get_result::<Plan>(&mut conn)
    .unwrap()
    .plan;
    assert!(plan.contains("customers_account_created_idx"), "{plan}");
    assert!(!plan.contains("\"Sort\""), "{plan}");
}

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
