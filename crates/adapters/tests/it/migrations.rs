//! Every migration can be reverted and re-applied, on both backends.

use diesel::backend::Backend;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
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
        .get_result(&mut **conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let timeout: Timeout = diesel::sql_query("PRAGMA busy_timeout")
        .get_result(&mut **conn)
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

/// Brings a database to exactly `version` (e.g. `20261125000003`): every migration reverted,
/// then applied one by one up to and including that one. Lets a test write rows the way an
/// earlier version of the service did, then run the later migrations over them.
pub fn migrate_to<DB: Backend>(
    conn: &mut impl MigrationHarness<DB>,
    migrations: fn() -> EmbeddedMigrations,
    version: &str,
) {
    conn.revert_all_migrations(migrations()).unwrap();
    migrate_to_from_here(conn, migrations, version);
}

/// A customer as the service wrote it before statuses were its own: Bridge's spelling,
/// free-form rejection reasons.
pub const OLD_CUSTOMER: &str =
    "INSERT INTO accounts (id, name, secret_hash, disabled, created_at) VALUES
       ('0a1b2c3d-0000-4000-8000-000000000001', 'old', '!', false, '2026-01-02T03:04:05.678Z');
     INSERT INTO customers (id, account_id, full_name, email, phone, country,
       customer_type, send_kyc_mail, kyc_provider, kyc_link, tos_link, kyc_status,
       tos_status, rejection_reasons, created_at, kyc_mail_status) VALUES
       ('0a1b2c3d-0000-4000-8000-000000000002', '0a1b2c3d-0000-4000-8000-000000000001',
        'Ada Lovelace', 'ada@example.com', '+2349039395114', 'USA', 'individual', false,
        'bridge', 'https://kyc.example/1', 'https://tos.example/1', 'manual_review',
        'accepted', '[{\"reason\":\"blurry\"}, \"expired\"]', '2026-01-02T03:04:05.678Z',
        'not_requested');";

async fn old_customer_reads_back_in_the_services_vocabulary(store: &adapters::Store) {
    use domain::{AccountId, CustomerId, KycStatus, TosStatus};
    use ports::CustomerRepository as _;
    let customer = store
        .find(
            AccountId("0a1b2c3d-0000-4000-8000-000000000001".parse().unwrap()),
            CustomerId("0a1b2c3d-0000-4000-8000-000000000002".parse().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    let created: chrono::DateTime<chrono::Utc> = "2026-01-02T03:04:05.678Z".parse().unwrap();
    assert_eq!(customer.created_at, created);
    // Unknown provider spellings are mapped, never left unreadable.
    assert_eq!(customer.kyc_state.kyc_status, KycStatus::UnderReview);
    assert_eq!(customer.kyc_state.tos_status, TosStatus::Pending);
    let reasons: Vec<_> = customer
        .kyc_state
        .rejection_reasons
        .iter()
        .map(|r| {
            (
                r.reason.as_str(),
                r.developer_reason.as_deref(),
                r.created_at,
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [("blurry", None, created), ("expired", None, created)]
    );
    assert_eq!(customer.version, 1);
    assert_eq!(customer.updated_at, None);
    assert_eq!(customer.kyc_as_of.at, created);
}

#[tokio::test]
async fn postgres_customers_stored_before_the_kyc_state_migration_stay_readable() {
    use diesel::connection::SimpleConnection as _;
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let store = open_postgres(&db);
    let mut conn = PgConnection::establish(db.url()).unwrap();
    migrate_to(
        &mut conn,
        || adapters::postgres::MIGRATIONS,
        "20261125000003",
    );
    conn.batch_execute(OLD_CUSTOMER).unwrap();
    assert!(store.run_migrations().unwrap() > 0);
    old_customer_reads_back_in_the_services_vocabulary(&store).await;
}

#[tokio::test]
async fn sqlite_customers_stored_before_the_kyc_state_migration_stay_readable() {
    use diesel::connection::SimpleConnection as _;
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let mut conn = SqliteConnection::establish(file.path().to_str().unwrap()).unwrap();
    migrate_to(&mut conn, || adapters::sqlite::MIGRATIONS, "20261125000003");
    conn.batch_execute(&OLD_CUSTOMER.replace("false", "0"))
        .unwrap();
    assert!(store.run_migrations().unwrap() > 0);
    old_customer_reads_back_in_the_services_vocabulary(&store).await;
}

/// Rows written before migration 9: an idempotency key and a customer with a mail job, so
/// that a later migration rebuilding a table on SQLite (whose drop cascades with foreign keys
/// on) would show.
const BEFORE_ERASURE: &str =
    "INSERT INTO outbox_jobs (id, kind, customer_id, message_id, next_attempt_at, created_at)
       VALUES ('0a1b2c3d-0000-4000-8000-000000000003', 'kyc_mail',
               '0a1b2c3d-0000-4000-8000-000000000002', '<kyc.old@customer-onboarding>',
               '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z');
     INSERT INTO idempotency_keys (account_id, method, path, idempotency_key, fingerprint,
       state, reserved_id, response_status, response_content_type, response_body,
       customer_id, created_at, expires_at)
       VALUES ('0a1b2c3d-0000-4000-8000-000000000001', 'POST', '/customer', 'k-1',
               '0000000000000000000000000000000000000000000000000000000000000000',
               'completed', '0a1b2c3d-0000-4000-8000-000000000002', 201, 'application/json',
               X'7B7D', '0a1b2c3d-0000-4000-8000-000000000002',
               '2026-01-02T03:04:05.678Z', '2999-01-02T03:04:05.678Z');";

#[tokio::test]
async fn sqlite_migrations_after_idempotency_keys_keep_every_row_of_every_table() {
    use diesel::connection::SimpleConnection as _;
    let file = TempSqlite::new();
    let store = open_sqlite(&file);
    let mut conn = SqliteConnection::establish(file.path().to_str().unwrap()).unwrap();
    // As the service's own connections run: with foreign keys enforced.
    conn.batch_execute("PRAGMA foreign_keys = ON").unwrap();
    migrate_to(&mut conn, || adapters::sqlite::MIGRATIONS, "20261125000003");
    conn.batch_execute(&OLD_CUSTOMER.replace("false", "0"))
        .unwrap();
    migrate_to_from_here(&mut conn, || adapters::sqlite::MIGRATIONS, "20261126000007");
    conn.batch_execute(BEFORE_ERASURE).unwrap();

    assert!(store.run_migrations().unwrap() > 0);

    old_customer_reads_back_in_the_services_vocabulary(&store).await;
    let mut count = |sql: &str| {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
    };
    assert_eq!(count("SELECT count(*) AS n FROM outbox_jobs"), 1);
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM idempotency_keys WHERE state = 'completed' \
             AND response_body = X'7B7D' AND customer_id = '0a1b2c3d-0000-4000-8000-000000000002'"
        ),
        1
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'idempotency_keys' AND name LIKE 'idempotency_keys_%_idx'"),
        2
    );
}

/// Applies the next migrations up to and including `version`.
pub fn migrate_to_from_here<DB: Backend>(
    conn: &mut impl MigrationHarness<DB>,
    migrations: fn() -> EmbeddedMigrations,
    version: &str,
) {
    loop {
        let applied = conn.run_next_migration(migrations()).unwrap();
        if applied.to_string() == version {
            return;
        }
    }
}
