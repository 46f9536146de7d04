//! What is PostgreSQL's own: opening the pool (with custom query plans, below), migrating
//! under an advisory lock (several instances may start together), and claiming outbox
//! jobs with `FOR UPDATE SKIP LOCKED` so that any number of instances deliver side by side.

use anyhow::Context as _;
use diesel::connection::SimpleConnection as _;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool};
use diesel::result::Error as DieselError;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::outbox::due_mail_jobs;
use super::pool::{build_pool, Manager, PoolSettings, Tracked};
use super::sql_types::Id;
use super::StoreConnection;

/// The PostgreSQL migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// An advisory-lock key, so that several instances starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6375_7374_6f6d_6572; // "customer"

/// How often an instance waiting for another one's migrations asks for the lock again.
const MIGRATION_LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<Manager<PgConnection>>;

diesel::define_sql_function! {
    /// Takes a session-level advisory lock if it is free; true when taken.
    fn pg_try_advisory_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}
diesel::define_sql_function! {
    /// Releases a session-level advisory lock.
    fn pg_advisory_unlock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

/// Every pooled connection plans each statement for the values it is run with.
///
/// Diesel prepares each statement once per connection. After five executions PostgreSQL
/// may switch a prepared statement to a generic plan, built from the table's size at that
/// moment and kept for as long as the connection lives: built while a table was empty,
/// it can pick an index that fits only part of the condition — the duplicate check then
/// walked every customer of the account, and throughput fell with each new customer until
/// a restart. ANALYZE would invalidate such a plan, but autovacuum may be off, or slow to
/// notice a bulk import, and a new account is small whatever the table's statistics say;
/// the plan must be right without it. Statement shapes cannot exclude every competing
/// index (the account's listing indexes all start with `account_id`). A custom plan is
/// made at each execution from the table's current size and the actual values, so it
/// follows the data; it costs a few tens of microseconds of planning per statement, which
/// `.ci/bench` measures, and no round trip (the statement stays prepared).
#[derive(Debug)]
struct CustomPlans;

impl CustomizeConnection<Tracked<PgConnection>, diesel::r2d2::Error> for CustomPlans {
    fn on_acquire(&self, conn: &mut Tracked<PgConnection>) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET plan_cache_mode = force_custom_plan")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens a pool to `database_url`, failing fast when the server does not answer.
pub fn connect(database_url: &str, settings: &PoolSettings) -> anyhow::Result<PgPool> {
    build_pool(
        Manager::new(database_url),
        settings,
        Some(Box::new(CustomPlans)),
    )
}

/// A pool to `database_url` that opens connections only when asked for one, so that
/// building it succeeds whether or not the server answers.
pub fn lazy_pool(database_url: &str, settings: &PoolSettings) -> PgPool {
    Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(0))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(false)
        .connection_customizer(Box::new(CustomPlans))
        .build_unchecked(Manager::new(database_url))
}

impl StoreConnection for PgConnection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.transaction(work)
    }

    fn lock_due_mail_jobs(&mut self, due: due_mail_jobs) -> QueryResult<Vec<Id>> {
        due.for_update().skip_locked().load(self)
    }

    fn has_pending_migrations(&mut self) -> QueryResult<bool> {
        self.has_pending_migration(MIGRATIONS)
            .map_err(DieselError::QueryBuilderError)
    }

    fn run_migrations(&mut self) -> anyhow::Result<usize> {
        // Polled rather than waited for inside one statement: a statement blocked on the
        // lock holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the holder's migration
        // waits for every older snapshot to go away — the two instances would deadlock.
        while !diesel::select(pg_try_advisory_lock(MIGRATION_LOCK_KEY))
            .get_result::<bool>(self)
            .context("could not take the migration lock")?
        {
            std::thread::sleep(MIGRATION_LOCK_POLL);
        }
        let applied = self
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| anyhow::anyhow!(e).context("could not apply migrations"));
        diesel::select(pg_advisory_unlock(MIGRATION_LOCK_KEY))
            .execute(self)
            .context("could not release the migration lock")?;
        applied
    }
}
