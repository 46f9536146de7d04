//! What is PostgreSQL's own: opening the pool, migrating under an advisory lock (several
//! instances may start together), claiming outbox jobs with `FOR UPDATE SKIP LOCKED` so
//! that any number of instances deliver side by side, and locking an idempotency key's
//! record (`FOR UPDATE`) while a claim on it decides, and gathering planner statistics
//! where they went stale. Connections keep PostgreSQL's default `plan_cache_mode`: how
//! statements keep their plans as tables grow is in `shapes`.

use anyhow::Context as _;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::Pool;
use diesel::result::Error as DieselError;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::idempotency::{key_record, KeyRow};
use super::kyc_sync::due_syncs;
use super::outbox::due_jobs;
use super::pool::{build_pool, Manager, PoolSettings};
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

/// Opens a pool to `database_url`, failing fast when the server does not answer.
pub fn connect(database_url: &str, settings: &PoolSettings) -> anyhow::Result<PgPool> {
    build_pool(Manager::new(database_url), settings, None)
}

/// A pool to `database_url` that opens connections only when asked for one, so that
/// building it succeeds whether or not the server answers.
pub fn lazy_pool(database_url: &str, settings: &PoolSettings) -> PgPool {
    Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(0))
        .connection_timeout(settings.connection_timeout)
        .test_on_check_out(false)
        .build_unchecked(Manager::new(database_url))
}

impl StoreConnection for PgConnection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.transaction(work)
    }

    fn lock_due_jobs(&mut self, due: due_jobs) -> QueryResult<Vec<(Id, Option<Id>)>> {
        due.for_update().skip_locked().load(self)
    }

    fn lock_due_deliveries(
        &mut self,
        due: super::outbox::due_deliveries,
    ) -> QueryResult<Vec<(Id, Option<Id>)>> {
        due.for_update().skip_locked().load(self)
    }

    fn serialise_delivery_claims(&mut self) -> QueryResult<()> {
        // A transaction-scoped advisory lock under a key of its own (the ASCII of
        // "whclaims"): released by the commit, so a crashed claimer holds nothing.
        diesel::sql_query("SELECT pg_advisory_xact_lock(8604236405233249651)")
            .execute(self)
            .map(drop)
    }

    fn lock_idempotency_key(&mut self, key: key_record) -> QueryResult<Option<KeyRow>> {
        // A claim that found the record (its insert did nothing) waits here for any other
        // claim's transaction on it, then sees that claim's outcome.
        key.select(KeyRow::as_select())
            .for_update()
            .first(self)
            .optional()
    }

    fn lock_due_syncs(&mut self, due: due_syncs) -> QueryResult<Vec<Id>> {
        due.for_update().skip_locked().load(self)
    }

    fn lock_account(&mut self, account: Id) -> QueryResult<()> {
        super::schema::accounts::table
            .find(account)
            .select(super::schema::accounts::id)
            .for_update()
            .first::<Id>(self)
            .optional()
            .map(drop)
    }

    fn refresh_statistics(&mut self) -> QueryResult<Vec<String>> {
        #[derive(QueryableByName)]
        struct Stale {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        // Autovacuum's rule for ANALYZE: more rows changed since the last one than 50 and a
        // tenth of the table. Whether autovacuum or this service gathered them last does
        // not matter: where autovacuum keeps up, this mostly finds nothing to do.
        let stale: Vec<Stale> = diesel::sql_query(
            "SELECT relname::text AS name FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() \
               AND n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0) \
             ORDER BY relname",
        )
        .load(self)?;
        for table in &stale {
            // A name read from the catalogue, quoted as an identifier.
            let quoted = table.name.replace('"', "\"\"");
            diesel::sql_query(format!("ANALYZE \"{quoted}\"")).execute(self)?;
        }
        Ok(stale.into_iter().map(|t| t.name).collect())
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
        let applied = refuse_invalid_indexes(self).and_then(|()| {
            self.run_pending_migrations(MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| anyhow::anyhow!(e).context("could not apply migrations"))
        });
        diesel::select(pg_advisory_unlock(MIGRATION_LOCK_KEY))
            .execute(self)
            .context("could not release the migration lock")?;
        applied
    }
}

/// An index of the service's schema that is not valid.
#[derive(QueryableByName)]
struct InvalidIndex {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Refuses to migrate while an index of the schema is INVALID, which is what an
/// interrupted `CREATE INDEX CONCURRENTLY` leaves behind. The index migrations say
/// `IF NOT EXISTS` (a build that completed just before its migration was recorded is then
/// kept), so without this check they would record an invalid index, which is never used
/// and never rebuilt, as done. Runs under the migration lock, so no other instance is
/// building an index meanwhile; a session still building one from a killed instance holds
/// that lock until it ends.
fn refuse_invalid_indexes(conn: &mut PgConnection) -> anyhow::Result<()> {
    if !conn
        .has_pending_migration(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!(e).context("could not list pending migrations"))?
    {
        return Ok(());
    }
    let invalid: Vec<InvalidIndex> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_index i \
           JOIN pg_class c ON c.oid = i.indexrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE NOT i.indisvalid AND n.nspname = current_schema() \
          ORDER BY 1",
    )
    .load(conn)
    .context("could not look for invalid indexes")?;
    if invalid.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = invalid.into_iter().map(|i| i.name).collect();
    anyhow::bail!(
        "will not migrate while an index is invalid (an interrupted CREATE INDEX \
         CONCURRENTLY leaves one): drop {} with `DROP INDEX CONCURRENTLY <name>;` and start \
         again",
        names.join(", ")
    )
}
