//! Instances starting together migrate one at a time and all come up, including through
//! the migration that builds an index with `CREATE INDEX CONCURRENTLY` outside a
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

fn kyc_status_index(conn: &mut PgConnection) -> Vec<IndexState> {
    diesel::sql_query(
        "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i \
           JOIN pg_class c ON c.oid = i.indexrelid \
          WHERE c.relname = 'customers_account_kyc_status_idx'",
    )
    .load(conn)
    .unwrap()
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
    let index = kyc_status_index(&mut conn);
    assert_eq!(index.len(), 1);
    assert!(index[0].valid, "{} was left invalid", index[0].name);
}

#[test]
fn postgres_the_concurrent_index_migration_reverts_and_reapplies() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = adapters::Store::connect_postgres(db.url(), &test_pool_settings()).unwrap();
    store.run_migrations().unwrap();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    conn.revert_all_migrations(adapters::postgres::MIGRATIONS)
        .unwrap();
    assert!(kyc_status_index(&mut conn).is_empty());
    assert!(store.run_migrations().unwrap() > 0);
    assert!(kyc_status_index(&mut conn)[0].valid);
}
