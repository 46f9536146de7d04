//! Every migration can be reverted and re-applied, on both backends.

use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::MigrationHarness;
use testkit::{TempSqlite, TestPostgres};

use crate::stores::{open_postgres, open_sqlite, test_pool_settings};

#[test]
fn postgres_migrations_revert_and_reapply_cleanly() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = open_postgres(&db);
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let reverted = conn
        .revert_all_migrations(adapters::postgres::MIGRATIONS)
        .unwrap();
    assert!(!reverted.is_empty());
    assert!(store.run_migrations().unwrap() > 0);
    assert_eq!(store.run_migrations().unwrap(), 0);
}

#[test]
fn sqlite_migrations_revert_and_reapply_cleanly() {
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let mut conn = SqliteConnection::establish(file.path().to_str().unwrap()).unwrap();
    let reverted = conn
        .revert_all_migrations(adapters::sqlite::MIGRATIONS)
        .unwrap();
    assert!(!reverted.is_empty());
    assert!(store.run_migrations().unwrap() > 0);
    assert_eq!(store.run_migrations().unwrap(), 0);
}

#[test]
fn sqlite_connections_use_wal_and_a_busy_timeout() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        timeout: i32,
    }
    let file = TempSqlite::new();
    let pool = adapters::sqlite::connect(&file.path(), &test_pool_settings()).unwrap();
    let mut conn = pool.get().unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let timeout: Timeout = diesel::sql_query("PRAGMA busy_timeout")
        .get_result(&mut *conn)
        .unwrap();
    assert!(
        timeout.timeout >= 5000,
        "busy_timeout = {}",
        timeout.timeout
    );
}

#[test]
fn sqlite_rejects_an_in_memory_database_url() {
    assert!(adapters::sqlite::path_from_url("sqlite://:memory:").is_err());
    assert_eq!(
        adapters::sqlite::path_from_url("sqlite://data/x.db").unwrap(),
        std::path::PathBuf::from("data/x.db")
    );
    assert_eq!(
        adapters::sqlite::path_from_url("/tmp/x.db").unwrap(),
        std::path::PathBuf::from("/tmp/x.db")
    );
}
