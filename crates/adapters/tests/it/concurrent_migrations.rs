//! Instances starting together migrate one at a time and all come up, including through
//! the migrations that build indexes with `CREATE INDEX CONCURRENTLY` outside a
//! transaction.

use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_migrations::MigrationHarness;
use testkit::TestPostgres;

use crate::stores::test_pool_settings;

#[derive(QueryableByName)]
struct IndexState {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    valid: bool,
}

/// The indexes the migrations build `CONCURRENTLY`.
const CONCURRENT_INDEXES: [&str; 4] = [
    "customers_account_kyc_status_idx",
    "customers_kyc_link_idx",
    "customers_provider_customer_idx",
    "customers_sync_due_idx",
];

fn concurrent_indexes(conn: &mut PgConnection) -> Vec<IndexState> {
    diesel::sql_query(
        "SELECT c.relname::text AS name, i.indisvalid AS valid FROM pg_index i \
           JOIN pg_class c ON c.oid = i.indexrelid \
          WHERE c.relname IN ($1, $2, $3, $4) ORDER BY 1",
    )
    .bind::<Text, _>(CONCURRENT_INDEXES[0])
    .bind::<Text, _>(CONCURRENT_INDEXES[1])
    .bind::<Text, _>(CONCURRENT_INDEXES[2])
    .bind::<Text, _>(CONCURRENT_INDEXES[3])
    .load(conn)
    .unwrap()
}

/// Every index built concurrently is there, and valid.
fn assert_all_valid(indexes: &[IndexState]) {
    let names: Vec<&str> = indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, CONCURRENT_INDEXES);
    for index in indexes {
        assert!(index.valid, "{} was left invalid", index.name);
    }
}

#[test]
fn postgres_instances_starting_together_all_migrate() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    const INSTANCES: usize = 4;
    let barrier = Arc::new(Barrier::new(INSTANCES));
    let starts: Vec<_> = (0..INSTANCES)
        .map(|_| {
            let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                store.run_migrations()
            })
        })
        .collect();
    let applied: Vec<usize> = starts
        .into_iter()
        .map(|start| start.join().unwrap().unwrap())
        .collect();

    // One instance applied everything; the others found nothing left to do.
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let all = conn.applied_migrations().unwrap().len();
    assert_eq!(applied.iter().sum::<usize>(), all, "{applied:?}");
    assert_eq!(applied.iter().filter(|&&n| n > 0).count(), 1, "{applied:?}");
    assert_all_valid(&concurrent_indexes(&mut conn));
}

#[test]
fn postgres_the_concurrent_index_migrations_revert_and_reapply() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    store.run_migrations().unwrap();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    conn.revert_all_migrations(adapters::postgres::MIGRATIONS)
        .unwrap();
    assert!(concurrent_indexes(&mut conn).is_empty());
    assert!(store.run_migrations().unwrap() > 0);
    assert_all_valid(&concurrent_indexes(&mut conn));
}
